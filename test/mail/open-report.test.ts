import t from 'tap'
import { createHash } from 'node:crypto'
import * as openpgp from 'openpgp'
import { loadTeamKeyring } from '../../src/pgp/keyring.js'
import { openReport } from '../../src/mail/open-report.js'
import {
  attachmentPart, gnupgStyleOcbMessage, reporterPeer, inlineBody, message, multipart, openpgpEncrypt, pgpMimeEncrypted, pgpMimeSigned, textPart
} from '../helpers/gpg.js'
import { makeTeamKey, teamKey } from '../helpers/team-key.js'

const reportText = 'SQL injection in /api/search?q= (CVE pending). PoC attached.'
const poc = Buffer.from('curl "https://victim.example/api/search?q=1%27%20OR%201=1"\n')

t.test('openReport', async (t) => {
  const team = await teamKey()
  const { gpg, reporter, reporterKey } = await reporterPeer(t, team.armoredPublic, 'Rita Reporter')
  const autocrypt = `addr=reporter@example.net; prefer-encrypt=mutual; keydata=${Buffer.from(reporterKey.write()).toString('base64')}`
  const deps = { keyring: team.keyring }
  const encryptTo = async (data: string | Buffer, signer?: string): Promise<Buffer> =>
    await gpg.encrypt(data, { to: [team.fingerprint], ...(signer === undefined ? {} : { signer }) })

  t.test('plain text mail', async (t) => {
    const raw = message({ subject: 'Plain report', messageId: 'plain@example.net', headers: { References: '<earlier@example.net>' } }, textPart(reportText))
    const report = await openReport(raw, deps)
    t.equal(report.text.trim(), reportText)
    t.equal(report.encrypted, false)
    t.same(report.signature, { state: 'unsigned' })
    t.equal(report.subject, 'Plain report')
    t.same(report.from, { address: 'reporter@example.net', name: 'Reporter' })
    t.equal(report.messageId, '<plain@example.net>')
    t.same(report.references, ['<earlier@example.net>', '<plain@example.net>'])
    t.equal(report.headers.get('subject'), 'Plain report')
    t.equal(report.reporterKey, undefined)
  })

  t.test('PGP/MIME encrypted by GnuPG, unsigned: payload parsed again, protected Subject', async (t) => {
    const payload = multipart('mixed', [textPart(reportText), attachmentPart({ filename: 'poc.sh', contentType: 'text/x-shellscript', content: poc })],
      'protected-headers="v1"').replace('Content-Type: multipart/mixed;', 'Subject: RCE in the upload handler\r\nContent-Type: multipart/mixed;')
    const raw = message({ subject: '...' }, pgpMimeEncrypted(await encryptTo(payload)))
    const report = await openReport(raw, deps)
    t.equal(report.encrypted, true)
    t.equal(report.decryptedWith, team.fingerprint)
    t.equal(report.subject, 'RCE in the upload handler')
    t.equal(report.text.trim(), reportText)
    t.same(report.signature, { state: 'unsigned' })
    t.equal(report.attachments.length, 1)
    t.match(report.attachments[0], { filename: 'poc.sh', size: poc.length, sha256: createHash('sha256').update(poc).digest('hex') })
    t.same(report.attachments[0]?.content, poc)
  })

  t.test('PGP/MIME signed+encrypted in one OpenPGP message, key from Autocrypt', async (t) => {
    const raw = message({ headers: { Autocrypt: autocrypt } }, pgpMimeEncrypted(await encryptTo(textPart(reportText), reporter.fingerprint)))
    const report = await openReport(raw, deps)
    t.equal(report.text.trim(), reportText)
    t.same(report.signature, { state: 'verified', fingerprint: reporter.fingerprint, keySource: 'autocrypt' })
    t.match(report.reporterKey, { fingerprint: reporter.fingerprint, source: 'autocrypt' })
  })

  t.test('multipart/signed nested inside the encryption, key attached inside the signed part', async (t) => {
    const signedPart = multipart('mixed', [textPart(reportText), attachmentPart({ filename: 'key.asc', contentType: 'application/pgp-keys', content: reporter.armoredPublic })])
    const signature = await gpg.sign(signedPart, { signer: reporter.fingerprint, mode: 'detach' })
    const raw = message({}, pgpMimeEncrypted(await encryptTo(pgpMimeSigned(signedPart, signature))))
    const report = await openReport(raw, deps)
    t.equal(report.encrypted, true)
    t.equal(report.text.trim(), reportText)
    t.same(report.signature, { state: 'verified', fingerprint: reporter.fingerprint, keySource: 'attached' })
    t.equal(report.attachments.length, 1, 'the key stays, the signature part does not')
  })

  t.test('PGP/MIME signed, not encrypted, key from knownSenderKeys; LF-only storage still verifies', async (t) => {
    const signedPart = textPart(reportText)
    const signature = await gpg.sign(signedPart, { signer: reporter.fingerprint, mode: 'detach' })
    const raw = message({}, pgpMimeSigned(signedPart, signature))
    const known = async (address: string): Promise<openpgp.PublicKey[]> => address === 'reporter@example.net' ? [reporterKey] : []
    for (const bytes of [raw, Buffer.from(raw.toString().replace(/\r\n/g, '\n'))]) {
      const report = await openReport(bytes, { ...deps, knownSenderKeys: known })
      t.equal(report.encrypted, false)
      t.equal(report.text.trim(), reportText)
      t.same(report.signature, { state: 'verified', fingerprint: reporter.fingerprint, keySource: 'known' })
      t.match(report.reporterKey, { source: 'known' })
    }
  })

  t.test('inline encrypted body, quoted-printable and base64', async (t) => {
    const armored = (await encryptTo(reportText + '\n', reporter.fingerprint)).toString()
    for (const encoding of ['quoted-printable', 'base64'] as const) {
      const raw = message({ headers: { Autocrypt: autocrypt } }, inlineBody(`\n\n${armored}`, encoding))
      const report = await openReport(raw, deps)
      t.equal(report.encrypted, true, encoding)
      t.equal(report.text.trim(), reportText)
      t.match(report.signature, { state: 'verified', keySource: 'autocrypt' })
    }
  })

  t.test('inline cleartext signed body', async (t) => {
    const signed = (await gpg.sign(reportText + '\n', { signer: reporter.fingerprint, mode: 'clear' })).toString()
    const report = await openReport(message({ headers: { Autocrypt: autocrypt } }, inlineBody(signed, 'quoted-printable')), deps)
    t.equal(report.encrypted, false)
    t.equal(report.text.trim(), reportText)
    t.match(report.signature, { state: 'verified' })
  })

  t.test("Mailvelope: armor in an HTML <pre>", async (t) => {
    const armored = (await encryptTo(reportText)).toString().replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
    const html = `<!DOCTYPE html><html><head><title>x</title></head><body><div><pre>${armored}</pre></div></body></html>`
    const report = await openReport(message({}, inlineBody(html, 'quoted-printable', 'text/html; charset=utf-8')), deps)
    t.equal(report.encrypted, true)
    t.equal(report.text.trim(), reportText)
  })

  t.test('encrypted attachments replaced by their plaintext', async (t) => {
    const binary = await gpg.encrypt(poc, { to: [team.fingerprint], armor: false })
    const armored = await encryptTo(poc)
    const raw = message({}, multipart('mixed', [
      textPart('See the attachments.'),
      attachmentPart({ filename: 'poc.sh.gpg', content: binary }),
      attachmentPart({ filename: 'notes.txt.asc', contentType: 'application/pgp-encrypted', content: armored })
    ]))
    const report = await openReport(raw, deps)
    t.equal(report.text.trim(), 'See the attachments.')
    t.equal(report.encrypted, true)
    t.equal(report.decryptedWith, team.fingerprint)
    t.same(report.attachments.map((a) => [a.filename, a.contentType, a.content.equals(poc)]), [['poc.sh', 'application/octet-stream', true], ['notes.txt', 'text/plain', true]])
  })

  t.test('Bcc: To someone else, encrypted to the team key only', async (t) => {
    const raw = message({ to: 'maintainer@example.com' }, pgpMimeEncrypted(await encryptTo(textPart(reportText))))
    const report = await openReport(raw, deps)
    t.equal(report.text.trim(), reportText)
  })

  t.test('rotation: two team keys, message to the older', async (t) => {
    const older = await makeTeamKey()
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const newer = await makeTeamKey()
    const keyring = await loadTeamKeyring({ armored: [newer.armoredSecret, older.armoredSecret] })
    await gpg.importKey(older.armoredPublic)
    const raw = message({}, pgpMimeEncrypted(await gpg.encrypt(textPart(reportText), { to: [older.fingerprint] })))
    const report = await openReport(raw, { keyring })
    t.equal(report.decryptedWith, older.fingerprint)
    t.equal(keyring.fingerprint, newer.fingerprint)
  })

  t.test('mislabelled data part and Exchange-mangled multipart/mixed', async (t) => {
    const ciphertext = await encryptTo(textPart(reportText))
    const mislabelled = message({}, pgpMimeEncrypted(ciphertext, 'text/plain; charset=us-ascii'))
    t.equal((await openReport(mislabelled, deps)).text.trim(), reportText)
    const mangled = message({}, multipart('mixed', [
      textPart(''),
      'Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n',
      attachmentPart({ filename: 'encrypted.asc', content: ciphertext })
    ]))
    const report = await openReport(mangled, deps)
    t.equal(report.text.trim(), reportText)
    t.equal(report.encrypted, true)
  })

  t.test('AEAD: OCB packet 20 (as GnuPG 2.4 sends) and SEIPDv2 inside PGP/MIME', async (t) => {
    const ocb = await gnupgStyleOcbMessage(Buffer.from(textPart(reportText)), team.keyring.published)
    const armoredOcb = openpgp.armor(openpgp.enums.armor.message, ocb)
    t.equal((await openReport(message({}, pgpMimeEncrypted(armoredOcb)), deps)).text.trim(), reportText)
    const seipdv2 = await openpgpEncrypt(Buffer.from(textPart(reportText)), { to: [team.keyring.published], config: { aeadProtect: true } })
    t.equal((await openReport(message({}, pgpMimeEncrypted(seipdv2)), deps)).text.trim(), reportText)
  })
})
