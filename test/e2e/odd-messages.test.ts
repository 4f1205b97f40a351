// Finding 4 of issue 15: messages an MTA really delivers (an odd header line, no From,
// no blank line after the header, only some header fields) used to be refused with 400,
// so the provider dropped them. Now every authenticated, non-empty delivery within the
// limits is answered 200 and ends as an advisory or in quarantine with a reason code,
// through /inbound/raw and through a provider adapter alike.
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { BASIC, postmarkJson, sendgridForm } from '../helpers/providers.js'
import { quarantineStore } from '../../src/quarantine/store.js'

const ENV = { INBOUND_BASIC_AUTH: BASIC }

type Post = (gw: Gateway, raw: Buffer) => Promise<{ status: number, id?: string, body: string }>

const viaRaw: Post = async (gw, raw) => ({ ...(await gw.post(raw)), body: '' })
const viaSendgrid: Post = async (gw, raw) => {
  const req = sendgridForm(raw)
  const res = await gw.inject({ method: 'POST', url: '/inbound/sendgrid', headers: req.headers, payload: req.payload })
  return { status: res.statusCode, body: res.body, ...(res.statusCode === 200 ? { id: (JSON.parse(res.body) as { id: string }).id } : {}) }
}

async function advisoryOf (gw: Gateway, id: string): Promise<{ description: string, summary: string }> {
  const file = join(gw.dir, 'outbox', 'advisories', `${id}.json`)
  return await gw.waitFor(() => { try { return JSON.parse(readFileSync(file, 'utf8')) } catch { return undefined } }, `advisory ${id}`)
}

async function quarantined (gw: Gateway, id: string) {
  const store = quarantineStore(gw.redis, gw.prefix)
  return await gw.waitFor(async () => await store.get(id), `quarantine entry ${id}`)
}

const crlf = (...lines: string[]) => Buffer.from(lines.join('\r\n'))

for (const [name, post] of [['raw', viaRaw], ['sendgrid', viaSendgrid]] as const) {
  t.test(`${name}: odd messages are stored and end as advisories or in quarantine`, async (t: Test) => {
    const gw = await startGateway(t, ENV)
    const tag = `${name}-${Math.random().toString(36).slice(2, 8)}`

    // A field name with a space before From: mailparser reads it; the web role used to give up.
    const odd = await post(gw, crlf('Received: from mx.example.org', 'X Mailer Info: something odd', `From: Reporter <reporter@example.org>`, 'To: security@stacklok.com',
      `Subject: odd header ${tag}`, `Message-ID: <odd-${tag}@example.org>`, '', `Path traversal, odd header ${tag}.`, ''))
    t.equal(odd.status, 200, `odd header line: accepted ${odd.body}`)
    t.match((await advisoryOf(gw, odd.id as string)).description, `odd header ${tag}`)

    // No From at all: an advisory that says so; nobody to acknowledge.
    const noFrom = await post(gw, crlf('To: security@stacklok.com', `Subject: no sender ${tag}`, `Message-ID: <nofrom-${tag}@example.org>`, '', `Report without a sender ${tag}.`, ''))
    t.equal(noFrom.status, 200, `no From: accepted ${noFrom.body}`)
    const anonymous = await advisoryOf(gw, noFrom.id as string)
    t.match(anonymous.description, `Report without a sender ${tag}`)
    t.match(anonymous.description, /Sender \(From, unauthenticated\)\s*\|\s*\*\(none\)\*/, 'the advisory says there is no sender')

    // No blank line after the header: the text after the header is the report, not lost.
    const noBlank = await post(gw, Buffer.from(`From: reporter@example.org\nTo: security@stacklok.com\nSubject: no blank line ${tag}\nThe loader: reads ../ paths ${tag}\nsecond line\n`))
    t.equal(noBlank.status, 200, `no blank line: accepted ${noBlank.body}`)
    t.match((await advisoryOf(gw, noBlank.id as string)).description, `The loader: reads ../ paths ${tag}`)

    // Only some header fields (To and a body).
    const bare = await post(gw, crlf('To: security@stacklok.com', '', `Only a body ${tag}`, ''))
    t.equal(bare.status, 200, `only some fields: accepted ${bare.body}`)
    t.match((await advisoryOf(gw, bare.id as string)).description, `Only a body ${tag}`)

    // Bytes that are no message at all: stored, quarantined with a reason code.
    const junk = await post(gw, Buffer.from(`%PDF-1.4 this is not mail ${tag}\n\u0000\u0001 binary`))
    t.equal(junk.status, 200, `not a message: accepted ${junk.body}`)
    t.match(await quarantined(gw, junk.id as string), { code: 'not-a-message' })

    // A header block over the limit is too large, not "not a message".
    const header = Buffer.from(`From: a@example.org\r\nTo: security@stacklok.com\r\n${'X-Pad: ' + 'a'.repeat(1000) + '\r\n'}`.repeat(379) + '\r\nbody')
    t.equal((await post(gw, header)).status, 413, '379 KB header block: 413')
    t.equal((await post(gw, Buffer.alloc(0))).status, 400, 'an empty body is still a 400')

    await gw.waitFor(async () => (await gw.queue.getCompletedCount()) + (await gw.queue.getFailedCount()) === 5, 'all five jobs done')
    const mails = gw.outbox('mail').map((f) => readFileSync(join(gw.dir, 'outbox', 'mail', f), 'utf8'))
    t.equal(mails.length, 2, 'acknowledgements for the two messages with a sender, none for the others')
  })
}

t.test('postmark: a post without any From address is stored and filed, not refused', async (t) => {
  const gw = await startGateway(t, ENV)
  const req = postmarkJson(undefined, { From: '', FromFull: null, TextBody: 'Report through Postmark without a sender.' })
  const res = await gw.inject({ method: 'POST', url: '/inbound/postmark', headers: req.headers, payload: req.payload })
  t.equal(res.statusCode, 200, res.body)
  const id = (JSON.parse(res.body) as { id: string }).id
  t.match((await advisoryOf(gw, id)).description, 'without a sender')
})

t.test('raw: no blank line after the header and a blank line deep in the body: stored, filed with all its text', async (t) => {
  const gw = await startGateway(t, {})
  const raw = Buffer.concat([Buffer.from('From: reporter@example.org\r\nTo: security@stacklok.com\r\nSubject: long\r\nFirst line of the report\r\n'), Buffer.from('filler line\r\n'.repeat(30_000)), Buffer.from('\r\nLast paragraph\r\n')])
  const res = await gw.post(raw)
  t.equal(res.status, 200)
  const description = (await advisoryOf(gw, res.id as string)).description
  t.match(description, 'First line of the report')
})
