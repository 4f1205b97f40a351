// A follow-up (a reply to a report or to our acknowledgement) as a section appended to
// the advisory it belongs to: dated, with its own sender, encryption and signature, the
// text in an unbreakable fence. Each section starts with a marker naming the follow-up's
// intake id, so appending is idempotent: a retried job finds its marker and stops.
import { limits } from '../domain/limits.js'
import type { OpenedReport } from '../domain/report.js'
import { code, mailbox, signatureCell, textSection } from './render.js'

export function followUpMarker (intakeId: string): string {
  return `<!-- follow-up-intake-id: ${intakeId} -->`
}

export interface FollowUpMeta {
  intakeId: string
  receivedAt: Date
  /** The sender address is the root report's sender (compared by keyed hash). */
  sameSender: boolean
  /** Our label when the follow-up says the issue is public or exploited. */
  disclosure?: string
}

const MIN_ROOM = 400

/**
 * The section to append to `current`, fitted into GitHub's 65,535 characters (text cut
 * with a notice; the full text stays in the sealed intake). Undefined when not even a
 * notice fits.
 */
export function followUpSection (report: OpenedReport, meta: FollowUpMeta, current: string): string | undefined {
  const room = limits.descriptionChars - current.length
  if (room < MIN_ROOM) return undefined
  const rows: Array<[string, string]> = [
    ['Intake id', code(meta.intakeId)],
    ['Received at', code(meta.receivedAt.toISOString())],
    ['Sender (From, unauthenticated)', report.from ? code(mailbox(report.from)) : '*(none)*'],
    ['Same sender as the report', meta.sameSender ? 'yes' : '**NO: a different address sent this follow-up**'],
    ['Encrypted', report.bodyEncrypted ?? report.encrypted ? 'yes' : 'no'],
    ['Signature', signatureCell(report.signature)],
    ...(meta.disclosure === undefined ? [] : [['Public disclosure', `**YES: ${meta.disclosure}**. All timelines become ASAP.`] as [string, string]]),
    ['Attachments', report.attachments.length === 0
      ? '0'
      : `${report.attachments.length}, kept sealed: ${report.attachments.slice(0, 10).map((a, i) => `#${i + 1} ${code(a.filename, 60)} SHA-256 ${code(a.sha256, 64)}`).join('; ')} (\`npm run intake -- attachment ${meta.intakeId} <n>\`)`]
  ]
  const head = [
    '',
    '',
    followUpMarker(meta.intakeId),
    '',
    `### Follow-up received ${meta.receivedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC${meta.sameSender ? '' : ' (different sender)'}`,
    '',
    '| Field | Value |',
    '| --- | --- |',
    ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    '',
    ''
  ].join('\n')
  if (head.length + MIN_ROOM / 2 > room) {
    const note = `\n\n${followUpMarker(meta.intakeId)}\n\n### Follow-up ${meta.intakeId} not shown: the description is at GitHub's limit; the full message is in the sealed intake.\n`
    return note.length <= room ? note : undefined
  }
  return head + textSection(report.text, meta.intakeId, room - head.length)
}
