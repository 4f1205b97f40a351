// Key by e-mail, end to end: /inbound/raw -> queue -> worker -> a real SMTP server. The
// reply carries the key (checked by GnuPG), a PGP/MIME signature GnuPG verifies, an
// Autocrypt header and threading headers, and no advisory is opened. Automatic and list
// mail asking for the key gets nothing; a report that mentions the key is still filed.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { simpleParser } from 'mailparser'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { startSmtpSink, type SinkMessage } from '../helpers/smtp-sink.js'
import { createGpg, message, pgpMimeEncrypted, textPart } from '../helpers/gpg.js'
import { teamKey } from '../helpers/team-key.js'
import { plainMessage } from '../helpers/messages.js'
import { headerValue, parseContentType, splitMime, splitMultipart } from '../../src/mail/mime-split.js'
import { formatFingerprint } from '../../src/mail/messages.js'
import { quarantineCommand } from '../../src/cli/quarantine.js'
import { quarantineStore } from '../../src/quarantine/store.js'

async function outcome (gw: Gateway, id: string): Promise<string> {
  return await gw.waitFor(async () => (await gw.redis.hget(`${gw.prefix}:gw:state:${id}`, 'outcome')) ?? undefined, `outcome of ${id}`)
}

function request (opts: { messageId: string, from?: string, to?: string, subject?: string, body?: string, headers?: Record<string, string> }): Buffer {
  const lines = [
    `From: ${opts.from ?? 'Alice <alice@example.net>'}`,
    `To: ${opts.to ?? 'security@example.org'}`,
    `Subject: ${opts.subject ?? 'PGP key?'}`,
    'Date: Sat, 28 Nov 2026 10:00:00 +0000',
    `Message-ID: <${opts.messageId}>`,
    'References: <thread-root@example.net>',
    ...Object.entries(opts.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    opts.body ?? 'Hello, before I send details: could you send me your public key?\r\n\r\nThanks,\r\nAlice',
    ''
  ]
  return Buffer.from(lines.join('\r\n'))
}

function to (sink: SinkMessage[], address: string): SinkMessage[] {
  return sink.filter((m) => m.envelope.rcptTo.some((r) => r.address === address))
}

t.test('key by e-mail', async (t) => {
  const team = await teamKey()
  const dir = mkdtempSync(join(tmpdir(), 'intake-keymail-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const keysDir = join(dir, 'keys')
  mkdirSync(keysDir)
  writeFileSync(join(keysDir, 'team.asc'), team.armoredPublic)
  const smtp = await startSmtpSink()
  t.teardown(smtp.close)
  const gw = await startGateway(t, {
    SMTP_URL: smtp.url, SECURITY_EMAIL: 'security@example.org', PUBLIC_URL: 'https://security.example.org',
    KEYS_DIR: keysDir, PGP_PRIVATE_KEY: team.armoredSecret
  })

  t.test('a request gets the signed key, threaded, with Autocrypt; no advisory', async (t) => {
    const res = await gw.post(request({ messageId: 'ask-1@example.net' }))
    t.equal(res.status, 200)
    t.equal(await outcome(gw, res.id as string), 'key-request')
    const [mail] = to(smtp.messages, 'alice@example.net')
    t.ok(mail, 'a reply reached the SMTP server')
    t.equal(smtp.messages.length, 1, 'exactly one mail')
    t.same(gw.outbox('advisories'), [], 'no advisory')
    const raw = (mail as SinkMessage).raw

    const parsed = await simpleParser(raw)
    t.equal(parsed.inReplyTo, '<ask-1@example.net>')
    t.same(parsed.references, ['<thread-root@example.net>', '<ask-1@example.net>'])
    t.equal(parsed.headers.get('auto-submitted'), 'auto-replied')
    t.equal(parsed.subject, 'Our OpenPGP key (Stacklok security team)')
    t.match(parsed.text ?? '', formatFingerprint(team.fingerprint))
    t.match(parsed.text ?? '', 'https://security.example.org/pgp-key.asc')
    t.match(parsed.text ?? '', 'gpg --locate-keys security@example.org')
    t.match(parsed.text ?? '', '/.well-known/security.txt')
    const keyFile = parsed.attachments.find((a) => a.contentType === 'application/pgp-keys')
    t.ok(keyFile, 'the key attached as application/pgp-keys')

    // Autocrypt: addr is our From, keydata is the team key.
    const autocrypt = String(parsed.headers.get('autocrypt') ?? '')
    t.match(autocrypt, /^addr=security@example\.org; prefer-encrypt=mutual; keydata=/)

    // GnuPG: the attachment and the Autocrypt keydata are the team key; the signature verifies.
    const gpg = await createGpg()
    t.teardown(gpg.close)
    await gpg.importKey(keyFile?.content.toString() ?? '')
    const listing = (await gpg.run(['--with-colons', '--list-keys'])).toString()
    t.match(listing, `fpr:::::::::${team.fingerprint}:`)
    const keydata = Buffer.from(autocrypt.replace(/^.*keydata=/, '').replace(/\s+/g, ''), 'base64')
    const other = await createGpg()
    t.teardown(other.close)
    await other.run(['--import'], keydata)
    t.match((await other.run(['--with-colons', '--list-keys'])).toString(), `fpr:::::::::${team.fingerprint}:`)

    const top = splitMime(raw)
    const type = parseContentType(headerValue(top.headers, 'content-type'))
    t.equal(type.type, 'multipart/signed')
    t.equal(type.params.protocol, 'application/pgp-signature')
    const [signed, signature] = splitMultipart(top.body, type.params.boundary ?? '')
    writeFileSync(join(dir, 'part'), signed as Buffer)
    writeFileSync(join(dir, 'sig.asc'), splitMime(signature as Buffer).body)
    const status = (await gpg.run(['--status-fd', '1', '--verify', join(dir, 'sig.asc'), join(dir, 'part')])).toString()
    t.match(status, new RegExp(`\\[GNUPG:\\] VALIDSIG ${team.fingerprint} `), 'signed by the team key')
  })

  t.test('the same sender again within 3 days: no second reply (RFC 3834)', async (t) => {
    const before = smtp.messages.length
    const res = await gw.post(request({ messageId: 'ask-2@example.net', subject: 'GPG key please' }))
    t.equal(await outcome(gw, res.id as string), 'key-request')
    t.equal(smtp.messages.length, before)
    t.match(await gw.redis.hget(`${gw.prefix}:gw:state:${res.id}`, 'reply.key'), /^suppressed: key already sent/)
  })

  t.test('mail to security+key@ gets the key whatever its words', async (t) => {
    const res = await gw.post(request({ messageId: 'ask-3@example.net', from: 'bob@example.net', to: 'security+key@example.org', subject: 'hi', body: 'hi' }))
    t.equal(await outcome(gw, res.id as string), 'key-request')
    t.equal(to(smtp.messages, 'bob@example.net').length, 1)
    t.same(gw.outbox('advisories'), [])
  })

  t.test('auto-replies and list mail asking for the key get nothing, and open nothing', async (t) => {
    const before = smtp.messages.length
    const auto = await gw.post(request({ messageId: 'auto-1@example.net', from: 'carol@example.net', headers: { 'Auto-Submitted': 'auto-replied' } }))
    const list = await gw.post(request({ messageId: 'list-1@example.net', from: 'dave@example.net', headers: { 'List-Id': '<dev.lists.example.net>' } }))
    const bulk = await gw.post(request({ messageId: 'bulk-1@example.net', from: 'erin@example.net', headers: { Precedence: 'bulk' } }))
    // An auto-reply is not a request at all: it is kept in the automated quarantine.
    const store = quarantineStore(gw.redis, gw.prefix)
    t.match(await gw.waitFor(async () => await store.get(auto.id as string), `quarantine ${auto.id}`), { code: 'automated' })
    for (const res of [list, bulk]) {
      t.equal(await outcome(gw, res.id as string), 'key-request')
      t.match(await gw.redis.hget(`${gw.prefix}:gw:state:${res.id}`, 'reply.key'), /^suppressed: /)
    }
    t.equal(smtp.messages.length, before, 'nothing sent')
    t.same(gw.outbox('advisories'), [], 'no advisory')
  })

  t.test('a report that mentions "public key" is filed, acknowledged, and gets the key too', async (t) => {
    const before = smtp.messages.length
    const body = 'The /api/export endpoint has a path traversal: GET /api/export?file=../../etc/passwd returns the file. ' +
      'I can send a PoC encrypted if you send me your public key.'
    const res = await gw.post(plainMessage({ messageId: 'report-1@example.net', from: 'frank@example.net', subject: 'Path traversal in export', body }))
    t.equal(await outcome(gw, res.id as string), 'advisory')
    t.equal(gw.outbox('advisories').length, 1, 'an advisory')
    const mails = to(smtp.messages.slice(before), 'frank@example.net')
    t.equal(mails.length, 2, 'acknowledgement and key')
    const subjects = await Promise.all(mails.map(async (m) => (await simpleParser(m.raw)).subject))
    t.same(subjects.sort(), ['Our OpenPGP key (Stacklok security team)', `Re: your vulnerability report [${res.id}]`].sort())
  })

  t.test('an encrypted report that mentions the key is a report, and needs no key', async (t) => {
    const gpg = await createGpg()
    t.teardown(gpg.close)
    await gpg.importKey(team.armoredPublic)
    const before = smtp.messages.length
    const encrypted = await gpg.encrypt(textPart('Short: please send your public key.'), { to: [team.fingerprint] })
    const res = await gw.post(message({ from: 'grace@example.net', to: 'security@example.org', messageId: 'enc-1@example.net' }, pgpMimeEncrypted(encrypted)))
    t.equal(await outcome(gw, res.id as string), 'advisory')
    const mails = to(smtp.messages.slice(before), 'grace@example.net')
    t.equal(mails.length, 1, 'the acknowledgement only')
  })

  t.test('a key request is never dropped: it stays in the quarantine, sealed, for a replay as a report', async (t) => {
    const res = await gw.post(request({ messageId: 'ask-kept@example.net', from: 'kim@example.net' }))
    t.equal(await outcome(gw, res.id as string), 'key-request')
    const entry = JSON.parse(await gw.redis.hget(`${gw.prefix}:gw:quarantine`, res.id as string) ?? 'null') as { code: string, reason: string } | null
    t.equal(entry?.code, 'key-request')
    t.match(entry?.reason, /replay/)
    t.equal(await gw.redis.ttl(`${gw.prefix}:gw:sealed:${res.id}`), -1, 'the original is kept while it is listed')
    const advisories = gw.outbox('advisories').length

    // A human reads it, finds a report, and replays it: filed, and off the list.
    t.equal(await quarantineCommand(gw.config(), ['replay', res.id as string], () => {}), 0)
    await gw.waitFor(() => gw.outbox('advisories').length === advisories + 1 ? true : undefined, 'advisory after replay')
    await gw.waitFor(async () => (await gw.redis.hexists(`${gw.prefix}:gw:quarantine`, res.id as string)) === 0 ? true : undefined, 'quarantine entry removed')
  })
})
