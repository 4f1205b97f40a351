// Issue 6, points 1 and 2 end to end: reporter keys are found (signature key, Autocrypt,
// attached key), remembered per sender, and every reply is PGP/MIME signed by the team
// key, encrypted to the reporter (and the team) when the key is known. GnuPG is the
// reporter's client throughout; a real SMTP server receives every mail.
import t, { type Test } from 'tap'
import { simpleParser } from 'mailparser'
import * as openpgp from 'openpgp'
import { startGateway, type Gateway } from '../helpers/gateway.js'
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js'
import { startChatSink, type ChatSink } from '../helpers/chat-sink.js'
import { attachmentPart, createGpg, message, multipart, pgpMimeEncrypted, pgpMimeSigned, textPart, type Gpg, type GpgKey } from '../helpers/gpg.js'
import { openMail } from '../helpers/pgp-mail.js'
import { teamKey } from '../helpers/team-key.js'
import { dumpValues, keysUnder } from '../helpers/redis.js'
import { parseAutocrypt } from '../../src/pgp/reporter-keys.js'

interface World { gw: Gateway, smtp: SmtpSink, chat: ChatSink, team: Awaited<ReturnType<typeof teamKey>> }

async function world (t: Test): Promise<World> {
  const team = await teamKey()
  const smtp = await startSmtpSink()
  const chat = await startChatSink()
  t.teardown(async () => { await smtp.close(); await chat.close() })
  const gw = await startGateway(t, {
    PGP_PRIVATE_KEY: team.armoredSecret, SECURITY_EMAIL: 'security@example.org',
    SMTP_URL: smtp.url, TEAM_NOTIFY_EMAIL: 'team@example.org', NOTIFY_WEBHOOK_URL: chat.url
  })
  return { gw, smtp, chat, team }
}

async function reporterGpg (t: Test, armoredTeamKey: string, email: string): Promise<{ gpg: Gpg, key: GpgKey }> {
  const gpg = await createGpg()
  t.teardown(gpg.close)
  await gpg.importKey(armoredTeamKey)
  const key = await gpg.generateKey({ name: 'Reporter', email, encryptionSubkey: 'cv25519' })
  return { gpg, key }
}

function canary (): string {
  return `CANARY-${Math.random().toString(36).slice(2)}`
}

function to (smtp: SmtpSink, address: string) {
  return smtp.messages.filter((m) => m.envelope.rcptTo.some((r) => r.address === address))
}

async function noLeak (t: Test, w: World, secret: string): Promise<void> {
  for (const m of w.smtp.messages) t.equal(m.raw.indexOf(secret), -1, 'no report text in any outgoing mail')
  t.equal(w.chat.raw.join('').indexOf(secret), -1, 'no report text in the chat notice')
  t.equal(Buffer.concat(await dumpValues(w.gw.redis, w.gw.prefix)).indexOf(secret), -1, 'no report text in Redis')
  t.equal(w.gw.logs.join('').indexOf(secret), -1, 'no report text in logs')
}

t.test('a GnuPG user\'s encrypted, signed report gets an encrypted, team-signed, threaded acknowledgement; the key is remembered', async (t) => {
  const w = await world(t)
  const { gpg, key } = await reporterGpg(t, w.team.armoredPublic, 'ada@example.net')
  const secret = canary()
  const inner = textPart(`Path traversal in the fetch server. ${secret}\n`)
  const signed = pgpMimeSigned(inner, await gpg.sign(inner, { signer: key.fingerprint, mode: 'detach' }))
  const keydata = (await gpg.run(['--export', key.fingerprint])).toString('base64').replace(/.{72}/g, '$&\r\n ')
  const raw = message({
    from: 'Ada <ada@example.net>', to: 'security@example.org', messageId: 'ada-1@example.net',
    headers: { Autocrypt: `addr=ada@example.net; prefer-encrypt=mutual; keydata=\r\n ${keydata}` }
  }, pgpMimeEncrypted(await gpg.encrypt(signed, { to: [w.team.fingerprint] })))
  t.equal((await w.gw.post(raw)).status, 200)
  await w.gw.waitFor(() => to(w.smtp, 'ada@example.net').length === 1 && to(w.smtp, 'team@example.org').length === 1 && w.chat.posts.length === 1, 'ack, team mail, chat')

  const ack = to(w.smtp, 'ada@example.net')[0]!
  const opened = await openMail(gpg, ack.raw)
  t.equal(opened.kind, 'encrypted', 'PGP/MIME encrypted')
  t.same(opened.validSigners, [w.team.fingerprint], 'GnuPG verifies the team signature inside')
  t.match(opened.text, /Advisory: +LOCAL-/, 'names the advisory')
  t.match(opened.text, /Within 24 hours/, 'SECURITY.md timelines')
  t.equal(opened.headers.get('in-reply-to'), '<ada-1@example.net>', 'threaded')
  t.equal(opened.headers.get('auto-submitted'), 'auto-replied')
  t.notMatch(ack.raw.toString('latin1'), /Within 24 hours/, 'nothing readable outside the encryption')
  // Encrypted to the team too, so the team can read what it sent.
  const recipients = (await gpg.run(['--list-packets', '--list-only'], await cipherOf(ack.raw)).catch((e: Error) => Buffer.from(e.message))).toString()
  const teamEnc = (await (await openpgp.readKey({ armoredKey: w.team.armoredPublic })).getEncryptionKey()).getKeyID().toHex().toUpperCase()
  t.match(recipients.toUpperCase(), teamEnc, 'also encrypted to the team key')
  const autocrypt = parseAutocrypt(String(ack.raw.toString('latin1').match(/^Autocrypt: ([^]*?)\r\n(?=\S)/m)?.[1] ?? '').replace(/\r\n\s/g, ' '))
  t.equal(autocrypt?.addr, 'security@example.org', 'Autocrypt header for our address')
  t.equal((await openpgp.readKey({ binaryKey: autocrypt!.keydata })).getFingerprint().toUpperCase(), w.team.fingerprint, 'carrying the team key')

  // Key store: one hash-named key, the public key only, no address in key names.
  const names = await keysUnder(w.gw.redis, w.gw.prefix)
  // The address, not its letters: key names carry hex hashes, and "ada" is hex.
  t.notOk(names.some((n) => /ada@|example\.net/i.test(n)), 'no address in Redis key names')
  const stored = names.filter((n) => n.includes(':reporter-key:'))
  t.equal(stored.length, 1)
  t.notMatch(String(await w.gw.redis.hget(stored[0]!, 'armored')), /PRIVATE KEY/)

  // A later plain mail from the same sender, no key in it: answered encrypted from the store.
  const again = message({ from: 'ada@example.net', to: 'security@example.org', messageId: 'ada-2@example.net' }, textPart(`One more detail. ${secret}\n`))
  t.equal((await w.gw.post(again)).status, 200)
  await w.gw.waitFor(() => to(w.smtp, 'ada@example.net').length === 2, 'second ack')
  const second = await openMail(gpg, to(w.smtp, 'ada@example.net')[1]!.raw)
  t.equal(second.kind, 'encrypted', 'the remembered key is used')
  t.same(second.validSigners, [w.team.fingerprint])

  const teamMail = await simpleParser(to(w.smtp, 'team@example.org')[0]!.raw)
  t.match(teamMail.text ?? '', /A vulnerability report arrived/)
  t.match(w.chat.posts[0]?.text ?? '', /New vulnerability report/)
  t.equal(w.chat.posts[0]?.text, w.chat.posts[0]?.content, 'Slack and Discord fields')
  await noLeak(t, w, secret)
})

t.test('the key that signed wins over an Autocrypt key for the same address', async (t) => {
  const w = await world(t)
  // Two homes, each holding one of the sender's keys: only the chosen key's home can decrypt.
  const autocryptHome = await reporterGpg(t, w.team.armoredPublic, 'fay@example.net')
  const signerHome = await reporterGpg(t, w.team.armoredPublic, 'fay@example.net')
  const inner = multipart('mixed', [
    textPart('Report signed with the attached key.\n'),
    attachmentPart({ filename: 'fay.asc', contentType: 'application/pgp-keys', content: signerHome.key.armoredPublic })
  ])
  const signed = pgpMimeSigned(inner, await signerHome.gpg.sign(inner, { signer: signerHome.key.fingerprint, mode: 'detach' }))
  const keydata = (await autocryptHome.gpg.run(['--export', autocryptHome.key.fingerprint])).toString('base64')
  const raw = message({ from: 'fay@example.net', to: 'security@example.org', messageId: 'fay-1@example.net', headers: { Autocrypt: `addr=fay@example.net; keydata=${keydata}` } }, signed)
  t.equal((await w.gw.post(raw)).status, 200)
  await w.gw.waitFor(() => to(w.smtp, 'fay@example.net').length === 1, 'ack')
  const ack = to(w.smtp, 'fay@example.net')[0]!.raw
  const opened = await openMail(signerHome.gpg, ack)
  t.equal(opened.kind, 'encrypted')
  t.same(opened.validSigners, [w.team.fingerprint])
  await t.rejects(openMail(autocryptHome.gpg, ack), 'not encrypted to the Autocrypt key')
})

t.test('an attached key whose user ID is From is found and used', async (t) => {
  const w = await world(t)
  const { gpg, key } = await reporterGpg(t, w.team.armoredPublic, 'bob@example.net')
  const secret = canary()
  const raw = message({ from: 'bob@example.net', to: 'security@example.org', messageId: 'bob-1@example.net' }, multipart('mixed', [
    textPart(`Cleartext report, key attached. ${secret}\n`),
    attachmentPart({ filename: 'bob.asc', contentType: 'application/pgp-keys', content: key.armoredPublic })
  ]))
  t.equal((await w.gw.post(raw)).status, 200)
  await w.gw.waitFor(() => to(w.smtp, 'bob@example.net').length === 1, 'ack')
  const opened = await openMail(gpg, to(w.smtp, 'bob@example.net')[0]!.raw)
  t.equal(opened.kind, 'encrypted')
  t.same(opened.validSigners, [w.team.fingerprint])
  await noLeak(t, w, secret)
})

t.test('an attached key for another address is not the sender\'s key', async (t) => {
  const w = await world(t)
  const other = await reporterGpg(t, w.team.armoredPublic, 'mallory@example.net')
  const raw = message({ from: 'carl@example.net', to: 'security@example.org', messageId: 'carl-1@example.net' }, multipart('mixed', [
    textPart('Report with somebody else\'s key attached.\n'),
    attachmentPart({ filename: 'key.asc', contentType: 'application/pgp-keys', content: other.key.armoredPublic })
  ]))
  t.equal((await w.gw.post(raw)).status, 200)
  await w.gw.waitFor(() => to(w.smtp, 'carl@example.net').length === 1, 'ack')
  const opened = await openMail(other.gpg, to(w.smtp, 'carl@example.net')[0]!.raw)
  t.equal(opened.kind, 'signed', 'signed cleartext, not encrypted to a stranger')
  t.same(opened.validSigners, [w.team.fingerprint])
})

t.test('Autocrypt Level 1: a header whose addr is not From is ignored', async (t) => {
  const w = await world(t)
  const { gpg, key } = await reporterGpg(t, w.team.armoredPublic, 'dora@example.net')
  const keydata = (await gpg.run(['--export', key.fingerprint])).toString('base64')
  const raw = message({
    from: 'dora@example.net', to: 'security@example.org', messageId: 'dora-1@example.net',
    headers: { Autocrypt: `addr=someone-else@example.net; keydata=${keydata}` }
  }, textPart('Report with a mismatching Autocrypt header.\n'))
  t.equal((await w.gw.post(raw)).status, 200)
  await w.gw.waitFor(() => to(w.smtp, 'dora@example.net').length === 1, 'ack')
  const opened = await openMail(gpg, to(w.smtp, 'dora@example.net')[0]!.raw)
  t.equal(opened.kind, 'signed', 'no key taken from an invalid header')
  t.same(opened.validSigners, [w.team.fingerprint], 'GnuPG verifies the signed cleartext reply')
  t.equal((await keysUnder(w.gw.redis, w.gw.prefix)).filter((n) => n.includes(':reporter-key:')).length, 0, 'nothing stored')
})

t.test('encrypted, but no reporter key anywhere: a signed reply without any report content', async (t) => {
  const w = await world(t)
  const { gpg } = await reporterGpg(t, w.team.armoredPublic, 'eve@example.net')
  const secret = canary()
  const raw = message({ from: 'eve@example.net', to: 'security@example.org', messageId: 'eve-1@example.net', subject: `Subject ${secret}` },
    pgpMimeEncrypted(await gpg.encrypt(textPart(`Encrypted, no key given. ${secret}\n`), { to: [w.team.fingerprint] })))
  t.equal((await w.gw.post(raw)).status, 200)
  await w.gw.waitFor(() => to(w.smtp, 'eve@example.net').length === 1, 'ack')
  const opened = await openMail(gpg, to(w.smtp, 'eve@example.net')[0]!.raw)
  t.equal(opened.kind, 'signed')
  t.same(opened.validSigners, [w.team.fingerprint])
  t.match(opened.text, /Advisory:/)
  await noLeak(t, w, secret)
})

async function cipherOf (raw: Buffer): Promise<Buffer> {
  const { headerValue, parseContentType, splitMime, splitMultipart } = await import('../../src/mail/mime-split.js')
  const top = splitMime(raw)
  const [, payload] = splitMultipart(top.body, parseContentType(headerValue(top.headers, 'content-type')).params.boundary ?? '')
  return splitMime(payload as Buffer).body
}
