// MIME bombs: 10,000 parts, 1,000-deep nesting. The web role no longer refuses them for
// their shape (content is the worker's to judge, issue 15 finding 4), so they are stored
// and must still end in quarantine `too-large` (the worker's limits.mimeParts/nesting),
// never as an advisory, never a crash, and the gateway keeps serving.
import t from 'tap'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { BASIC, sendgridForm } from '../helpers/providers.js'
import { quarantineStore } from '../../src/quarantine/store.js'

function manyParts (n: number): Buffer {
  const part = '--p\r\nContent-Type: text/plain\r\n\r\nx\r\n'
  return Buffer.from(`From: a@example.org\r\nTo: security@stacklok.com\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n${part.repeat(n)}--p--\r\n`)
}

function deepNesting (depth: number): Buffer {
  const open: string[] = []
  const close: string[] = []
  for (let i = 0; i < depth; i++) {
    open.push(`Content-Type: multipart/mixed; boundary=d${i}\r\n\r\n--d${i}\r\n`)
    close.unshift(`\r\n--d${i}--\r\n`)
  }
  return Buffer.from(`From: a@example.org\r\nTo: security@stacklok.com\r\nSubject: deep\r\n${open.join('')}Content-Type: text/plain\r\n\r\nx${close.join('')}`)
}

async function postSendgrid (gw: Gateway, raw: Buffer): Promise<{ status: number, id?: string }> {
  const req = sendgridForm(raw)
  const res = await gw.inject({ method: 'POST', url: '/inbound/sendgrid', headers: req.headers, payload: req.payload })
  return { status: res.statusCode, ...(res.statusCode === 200 ? { id: (JSON.parse(res.body) as { id: string }).id } : {}) }
}

t.test('10,000 parts and 1,000-deep nesting: stored, then quarantined too-large (raw and SendGrid)', async (t) => {
  const gw = await startGateway(t, { INBOUND_BASIC_AUTH: BASIC })
  const store = quarantineStore(gw.redis, gw.prefix)
  const bombs = { parts: manyParts(10_000), deep: deepNesting(1_000) }
  const ids: string[] = []
  for (const [name, raw] of Object.entries(bombs)) {
    for (const [via, res] of [['raw', await gw.post(raw)], ['sendgrid', await postSendgrid(gw, Buffer.concat([raw, Buffer.from(`X-Via: ${name}\r\n`)]))]] as const) {
      t.equal(res.status, 200, `${name} via ${via}: stored`)
      ids.push(res.id as string)
    }
  }
  const started = Date.now()
  for (const id of ids) t.match(await gw.waitFor(async () => await store.get(id), `quarantine ${id}`), { code: 'too-large' })
  t.comment(`quarantined in ${Date.now() - started} ms after posting`)
  t.same(gw.outbox('advisories'), [], 'no advisory')
  // The sender may be told once its message could not be read (the same notice as for
  // mail that cannot be decrypted, under the reply limits); never acknowledged as filed.
  for (const id of ids) await gw.waitFor(async () => (await gw.redis.hget(`${gw.prefix}:gw:state:${id}`, 'reply.unreadable')) ?? undefined, `unreadable notice of ${id} sent or suppressed`)
  t.same(gw.outbox('mail').filter((name) => !name.startsWith('undecryptable.')), [], 'no acknowledgement (it is not a report)')
  t.equal((await gw.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'still serving')
})
