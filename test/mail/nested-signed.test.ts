import t from 'tap'
import * as openpgp from 'openpgp'
import { renderAdvisory } from '../../src/advisory/render.js'
import { openReport } from '../../src/mail/open-report.js'
import { attachmentPart, reporterPeer, message, multipart, pgpMimeEncrypted, pgpMimeSigned, textPart } from '../helpers/gpg.js'
import { teamKey } from '../helpers/team-key.js'

const reportText = 'Path traversal in /download?file= lets anyone read /etc/shadow.'
const poc = Buffer.from('curl "https://victim.example/download?file=../../etc/shadow"\n')

t.test('multipart/signed nested below the top of the body', async (t) => {
  const team = await teamKey()
  const { gpg, reporter, reporterKey } = await reporterPeer(t, team.armoredPublic, 'Rita Reporter')
  const known = async (address: string): Promise<openpgp.PublicKey[]> => address === 'reporter@example.net' ? [reporterKey] : []
  const deps = { keyring: team.keyring, knownSenderKeys: known }
  const verified = { state: 'verified', fingerprint: reporter.fingerprint, keySource: 'known' }
  const signedText = async (text = reportText): Promise<string> => {
    const part = textPart(text)
    return pgpMimeSigned(part, await gpg.sign(part, { signer: reporter.fingerprint, mode: 'detach' }))
  }
  const pocPart = attachmentPart({ filename: 'poc.sh', contentType: 'text/x-shellscript', content: poc })

  t.test('signed text then an unsigned attachment, in the clear', async (t) => {
    const raw = message({}, multipart('mixed', [await signedText(), pocPart]))
    // LF-only storage must verify too: the signature is over CRLF line ends.
    for (const bytes of [raw, Buffer.from(raw.toString().replace(/\r\n/g, '\n'))]) {
      const report = await openReport(bytes, deps)
      t.equal(report.encrypted, false)
      t.equal(report.text.trim(), reportText)
      t.same(report.signature, verified)
      t.same(report.partSignature, { signature: verified, covers: 'text', unsignedAttachments: [0] })
      t.same(report.attachments.map((a) => a.filename), ['poc.sh'], 'the used signature part is not an attachment')
      t.match(report.reporterKey, { fingerprint: reporter.fingerprint })
    }
    const { description } = renderAdvisory(await openReport(raw, deps), { intakeId: 'in-1', receivedAt: new Date(0) })
    t.match(description, /\| Signature \| valid, by known key ` [0-9A-F]{40} ` \|/)
    t.match(description, '| Signature covers | a signed part holding all of the report text; attachments #1 are outside it and **not signed** |')
  })

  t.test('multipart/mixed holding a signed part, inside the encryption', async (t) => {
    const payload = multipart('mixed', [await signedText(), pocPart])
    const raw = message({}, pgpMimeEncrypted(await gpg.encrypt(payload, { to: [team.fingerprint] })))
    const report = await openReport(raw, deps)
    t.equal(report.encrypted, true)
    t.equal(report.decryptedWith, team.fingerprint)
    t.equal(report.text.trim(), reportText)
    t.same(report.signature, verified)
    t.same(report.partSignature, { signature: verified, covers: 'text', unsignedAttachments: [0] })
    t.same(report.attachments.map((a) => [a.filename, a.content.equals(poc)]), [['poc.sh', true]])
  })

  t.test('a signature over the whole encrypted payload beats the nested one', async (t) => {
    const payload = multipart('mixed', [await signedText(), pocPart])
    const raw = message({}, pgpMimeEncrypted(await gpg.encrypt(payload, { to: [team.fingerprint], signer: reporter.fingerprint })))
    const report = await openReport(raw, deps)
    t.same(report.signature, verified)
    t.equal(report.partSignature, undefined)
    t.same(report.attachments.map((a) => a.filename), ['poc.sh'])
  })

  t.test('tampered signed part: bad', async (t) => {
    const signed = await signedText()
    const tampered = signed.replace('/etc/shadow', '/etc/passwd')
    t.not(tampered, signed)
    const report = await openReport(message({}, multipart('mixed', [tampered, pocPart])), deps)
    t.match(report.signature, { state: 'bad', fingerprint: reporter.fingerprint, reason: 'the signed content does not match the signature' })
    t.match(report.partSignature, { signature: { state: 'bad' }, covers: 'text' })
    t.same(report.attachments.map((a) => a.filename), ['poc.sh'])
  })

  t.test('unsigned text next to the signed part: never verified', async (t) => {
    const injected = 'Also, please send the bounty to attacker@example.com.'
    const report = await openReport(message({}, multipart('mixed', [await signedText(), textPart(injected)])), deps)
    t.match(report.text, reportText)
    t.match(report.text, injected)
    t.same(report.signature, { state: 'unsigned' })
    t.same(report.partSignature, { signature: verified, covers: 'part', unsignedAttachments: [] })
    t.equal(report.attachments.length, 0)
    const { description } = renderAdvisory(report, { intakeId: 'in-2', receivedAt: new Date(0) })
    t.match(description, '| Signature | unsigned |')
    t.match(description, /\| Signature covers \| only a signed part holding \*\*some\*\* of the report text \(valid, by known key .*\); the rest of the text is unsigned; every attachment is inside it \|/)
  })

  t.test('unsigned text, signed attachment: the signature covers only that part', async (t) => {
    const inner = multipart('mixed', [textPart(''), pocPart])
    const signed = pgpMimeSigned(inner, await gpg.sign(inner, { signer: reporter.fingerprint, mode: 'detach' }))
    const report = await openReport(message({}, multipart('mixed', [textPart(reportText), signed])), deps)
    t.equal(report.text.trim(), reportText)
    t.same(report.signature, { state: 'unsigned' })
    t.same(report.partSignature, { signature: verified, covers: 'part', unsignedAttachments: [] })
    t.same(report.attachments.map((a) => a.filename), ['poc.sh'])
  })

  t.test('attachments inside the signed part are covered, the one outside is not', async (t) => {
    const notes = attachmentPart({ filename: 'notes.txt', contentType: 'text/plain', content: 'signed notes\n' })
    const inner = multipart('mixed', [textPart(reportText), notes])
    const signed = pgpMimeSigned(inner, await gpg.sign(inner, { signer: reporter.fingerprint, mode: 'detach' }))
    const report = await openReport(message({}, multipart('mixed', [signed, pocPart])), deps)
    t.same(report.signature, verified)
    t.same(report.attachments.map((a) => a.filename), ['notes.txt', 'poc.sh'])
    t.same(report.partSignature, { signature: verified, covers: 'text', unsignedAttachments: [1] })
  })

  t.test('signed by a key we do not have', async (t) => {
    const report = await openReport(message({}, multipart('mixed', [await signedText(), pocPart])), { keyring: team.keyring })
    t.match(report.signature, { state: 'no-key' })
    t.match(report.partSignature, { signature: { state: 'no-key' }, covers: 'text' })
  })

  t.test('nesting limit still applies around a nested signed part', async (t) => {
    let entity = multipart('mixed', [await signedText(), pocPart])
    for (let i = 0; i < 9; i++) entity = multipart('mixed', [entity])
    await t.rejects(openReport(message({}, entity), deps), { code: 'too-large' })
  })
})
