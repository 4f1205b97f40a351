// EFAIL-style mixing: a cleartext body next to an encrypted attachment must not be
// labelled as an encrypted report (the team would trust text nobody protected).
import t from 'tap'
import * as openpgp from 'openpgp'
import { openReport } from '../../src/mail/open-report.js'
import { renderAdvisory } from '../../src/advisory/render.js'
import type { OpenedReport } from '../../src/domain/report.js'
import { attachmentPart, message, multipart, openpgpEncrypt, pgpMimeEncrypted, textPart } from '../helpers/gpg.js'
import { teamKey } from '../helpers/team-key.js'

const meta = { intakeId: 'intake-1', receivedAt: new Date('2026-01-01T00:00:00Z') }

function encryptedRow (report: OpenedReport): string {
  const row = renderAdvisory(report, meta).description.split('\n').find((line) => line.startsWith('| Encrypted |'))
  return row ?? ''
}

t.test('what was encrypted is said per part', async (t) => {
  const team = await teamKey()
  const deps = { keyring: team.keyring }
  const publicKey = await openpgp.readKey({ armoredKey: team.armoredPublic })
  const encrypt = async (text: string): Promise<string> => await openpgpEncrypt(text, { to: [publicKey] })

  t.test('cleartext body, encrypted .asc attachment', async (t) => {
    const raw = message({}, multipart('mixed', [
      textPart('Please run the attached PoC.'),
      attachmentPart({ filename: 'poc.txt.asc', content: await encrypt('secret poc') }),
      attachmentPart({ filename: 'notes.txt', content: 'clear notes' })
    ]))
    const report = await openReport(raw, deps)
    t.equal(report.encrypted, true, 'something was encrypted')
    t.equal(report.bodyEncrypted, false)
    t.equal(report.decryptedAttachments, 1)
    const row = encryptedRow(report)
    t.match(row, '**body: cleartext**; 1 attachment decrypted, **1 attachment in cleartext**; decrypted with team key')
    t.notMatch(row, /\| yes/)
  })

  t.test('PGP/MIME: body and attachments', async (t) => {
    const payload = multipart('mixed', [textPart('report'), attachmentPart({ filename: 'poc.sh', content: 'id' })])
    const report = await openReport(message({}, pgpMimeEncrypted(await encrypt(payload))), deps)
    t.equal(report.bodyEncrypted, true)
    t.equal(report.decryptedAttachments, 1)
    t.match(encryptedRow(report), `| yes, body and attachments; decrypted with team key \` ${team.fingerprint} \` |`)
  })

  t.test('PGP/MIME without attachments keeps the plain wording', async (t) => {
    const report = await openReport(message({}, pgpMimeEncrypted(await encrypt(textPart('report')))), deps)
    t.match(encryptedRow(report), `| yes, decrypted with team key \` ${team.fingerprint} \` |`)
  })

  t.test('inline-encrypted body next to a cleartext attachment', async (t) => {
    const raw = message({}, multipart('mixed', [textPart(await encrypt('report')), attachmentPart({ filename: 'dump.bin', content: 'clear' })]))
    const report = await openReport(raw, deps)
    t.equal(report.bodyEncrypted, true)
    t.equal(report.decryptedAttachments, 0)
    t.match(encryptedRow(report), 'body: encrypted; **1 attachment in cleartext**; decrypted with team key')
  })

  t.test('nothing encrypted', async (t) => {
    const report = await openReport(message({}, textPart('report')), deps)
    t.same([report.encrypted, report.bodyEncrypted, report.decryptedAttachments], [false, false, 0])
    t.equal(encryptedRow(report), '| Encrypted | no |')
  })
})
