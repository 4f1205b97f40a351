// PGP/MIME as GnuPG sees it: the signed part verifies with `gpg --verify`, the encrypted
// message decrypts with the reporter's key and carries a good team signature, and the
// Autocrypt header imports into GnuPG as the team key.
import t from 'tap'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as openpgp from 'openpgp'
import { simpleParser } from 'mailparser'
import { autocryptHeader, encryptMime, signMime } from '../../src/mail/pgp-mime.js'
import type { MailMessage } from '../../src/mail/messages.js'
import { headerValue, parseContentType, splitMime, splitMultipart } from '../../src/mail/mime-split.js'
import { createGpg } from '../helpers/gpg.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'
import { createMailer } from '../../src/mail/transport.js'
import { teamKey } from '../helpers/team-key.js'

async function fixture (): Promise<{ message: MailMessage, signer: openpgp.PrivateKey, publicKey: openpgp.PublicKey, armoredPublic: string, fingerprint: string }> {
  const team = await teamKey()
  const signer = team.keyring.secretKeys[0] as openpgp.PrivateKey
  const message: MailMessage = {
    from: 'security@example.org',
    to: { address: 'reporter@example.net' },
    envelope: { from: 'security@example.org', to: ['reporter@example.net'] },
    subject: 'Re: your vulnerability report [abc123]',
    messageId: '<ack.abc123@example.org>',
    inReplyTo: '<report-1@example.net>',
    references: ['<report-1@example.net>'],
    headers: { 'Auto-Submitted': 'auto-replied', Autocrypt: autocryptHeader('security@example.org', team.keyring.published) },
    // Trailing spaces, a "From " line, a long line and non-ASCII: what breaks naive signing.
    text: `Hello,  \nFrom here on it is encrypted.\n${'x'.repeat(200)}\nGrüße — the team\n`,
    attachments: [{ filename: 'key.asc', content: team.armoredPublic, contentType: 'application/pgp-keys' }]
  }
  return { message, signer, publicKey: team.keyring.published, armoredPublic: team.armoredPublic, fingerprint: team.fingerprint }
}

t.test('a signed message verifies with GnuPG over the exact first part', async t => {
  const { message, signer, armoredPublic } = await fixture()
  const mail = await signMime(message, signer)
  const top = splitMime(mail.raw)
  const type = parseContentType(headerValue(top.headers, 'content-type'))
  t.equal(type.type, 'multipart/signed')
  t.match(type.params.protocol, 'application/pgp-signature')
  t.match(type.params.micalg, /^pgp-sha(256|384|512)$/)
  const [signed, signature] = splitMultipart(top.body, type.params.boundary ?? '')
  t.ok(signed !== undefined && signature !== undefined, 'two parts')

  const gpg = await createGpg()
  t.teardown(gpg.close)
  await gpg.importKey(armoredPublic)
  const dir = await mkdtemp(join(tmpdir(), 'pgp-mime-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const sigBody = splitMime(signature as Buffer).body
  await writeFile(join(dir, 'part'), signed as Buffer)
  await writeFile(join(dir, 'sig.asc'), sigBody)
  const status = (await gpg.run(['--status-fd', '1', '--verify', join(dir, 'sig.asc'), join(dir, 'part')])).toString()
  t.match(status, /\[GNUPG:\] GOODSIG/)
  t.match(status, /\[GNUPG:\] VALIDSIG/)

  // A mail client sees the same headers, the text and the key attachment.
  const parsed = await simpleParser(mail.raw)
  t.equal(parsed.messageId, '<ack.abc123@example.org>')
  t.equal(parsed.inReplyTo, '<report-1@example.net>')
  t.equal(parsed.headers.get('auto-submitted'), 'auto-replied')
  t.match(parsed.text ?? '', /Grüße — the team/)
  t.ok(parsed.attachments.some(a => a.filename === 'key.asc' && a.contentType === 'application/pgp-keys'), 'key attached')
  t.same(mail.envelope, message.envelope)
})

t.test('an encrypted message decrypts with the reporter key and is signed by the team', async t => {
  const { message, signer, publicKey, armoredPublic } = await fixture()
  const gpg = await createGpg()
  t.teardown(gpg.close)
  await gpg.importKey(armoredPublic)
  const reporter = await gpg.generateKey({ name: 'Reporter', email: 'reporter@example.net', encryptionSubkey: 'cv25519' })
  const reporterKey = await openpgp.readKey({ armoredKey: reporter.armoredPublic })
  const mail = await encryptMime(message, { signingKey: signer, encryptionKeys: [reporterKey, publicKey] })
  const top = splitMime(mail.raw)
  const type = parseContentType(headerValue(top.headers, 'content-type'))
  t.equal(type.type, 'multipart/encrypted')
  t.notMatch(mail.raw.toString('latin1'), /Grüße|encrypted\.\r?\nx{10}/, 'no plaintext outside the encryption')
  const [version, payload] = splitMultipart(top.body, type.params.boundary ?? '')
  t.match((version as Buffer).toString(), /Version: 1/)
  const out = (await gpg.run(['--status-fd', '1', '--decrypt'], splitMime(payload as Buffer).body)).toString()
  t.match(out, /\[GNUPG:\] DECRYPTION_OKAY/)
  t.match(out, /\[GNUPG:\] GOODSIG/)
  t.match(out, /Content-Type: text\/plain/)
  t.match(out, /Content-Type: application\/pgp-keys/)

  t.rejects(encryptMime(message, { signingKey: signer, encryptionKeys: [] }), /at least one/)
})

t.test('the Autocrypt header carries the team key for its address only', async t => {
  const { publicKey, fingerprint } = await fixture()
  const value = autocryptHeader('Security@Example.org', publicKey)
  t.match(value, /^addr=security@example\.org; prefer-encrypt=mutual; keydata=[A-Za-z0-9+/=]+$/)
  const keydata = Buffer.from(value.split('keydata=')[1] ?? '', 'base64')
  const key = await openpgp.readKey({ binaryKey: keydata })
  t.equal(key.getFingerprint().toUpperCase(), fingerprint)
  t.ok(await key.getEncryptionKey(), 'has an encryption subkey')
  t.same(key.users.map(u => u.userID?.email), ['security@example.org'])
  t.notOk(key.isPrivate(), 'public only')

  const gpg = await createGpg()
  t.teardown(gpg.close)
  await gpg.run(['--import'], keydata)
  const listing = (await gpg.run(['--with-colons', '--list-keys'])).toString()
  t.match(listing, new RegExp(`fpr:+${fingerprint}:`))
})

t.test('the Autocrypt header is made once per key and address (every mail carries it)', async t => {
  const { publicKey } = await fixture()
  let made = 0
  const toPublic = publicKey.toPublic.bind(publicKey)
  publicKey.toPublic = () => { made++; return toPublic() }
  const first = autocryptHeader('cache@example.org', publicKey)
  t.equal(autocryptHeader('Cache@Example.org', publicKey), first, 'the same value, whatever the case of the address')
  t.equal(made, 1, 'the key was cut down once')
  t.not(autocryptHeader('other@example.org', publicKey), first, 'another address has its own value')
  t.equal(made, 2)
  const { publicKey: fresh } = await fixture()
  t.equal(autocryptHeader('cache@example.org', fresh), first, 'a new key object (a reload) makes it again, the same for the same key')
})

t.test('the transports deliver the signed bytes unchanged, named by Message-ID', async t => {
  const { message, signer } = await fixture()
  const mail = await signMime(message, signer)
  const dir = await mkdtemp(join(tmpdir(), 'pgp-mime-outbox-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const mailer = createMailer({ outboxDir: dir, log: { info: () => {} } })
  t.teardown(() => { mailer.close() })
  const sent = await mailer.send(mail)
  t.equal(sent.messageId, '<ack.abc123@example.org>')
  const written = await readFile(join(dir, 'mail', 'ack.abc123@example.org.eml'))
  t.ok(written.equals(mail.raw), 'byte for byte')

  const sink = await startSmtpSink()
  t.teardown(sink.close)
  const smtp = createMailer({ smtpUrl: sink.url, outboxDir: dir, log: { info: () => {} } })
  t.teardown(() => { smtp.close() })
  await smtp.send(mail)
  const received = sink.messages[0]
  t.ok(received?.raw.equals(mail.raw), 'SMTP delivers the same bytes')
  t.same(received?.envelope.rcptTo.map(r => r.address), ['reporter@example.net'])
})
