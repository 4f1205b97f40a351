// The mails the gateway writes, as nodemailer message objects (sending is transport.ts).
// None of them quotes the report: the reporter already has it, and the team reads it in
// the private advisory, not in an inbox. Every header value that comes from the report
// is reduced to one line without control characters before nodemailer sees it.
import { domainToASCII } from 'node:url'
import type { Address, OpenedReport, SignatureState } from '../report/types.js'

/** What a reply needs from the report; `encrypted` is unknown for undecryptable mail. */
export type ReplyTarget = Pick<OpenedReport, 'headers' | 'from' | 'replyTo' | 'messageId' | 'references' | 'subject'> &
  Partial<Pick<OpenedReport, 'encrypted'>>

export interface MailMessage {
  from: string | Address
  to: Address
  /** Explicit envelope: exactly one RCPT, whatever the headers say. */
  envelope: { from: string, to: string[] }
  subject: string
  messageId: string
  inReplyTo?: string
  references?: string[]
  headers: Record<string, string>
  text: string
  attachments?: MailAttachment[]
}

export interface MailAttachment {
  filename: string
  content: string | Buffer
  contentType: string
}

export interface AdvisoryRef {
  ghsaId: string
  htmlUrl?: string
}

export interface AcknowledgementInput {
  report: ReplyTarget
  intakeId: string
  advisory: AdvisoryRef
  from: string | Address
  publicUrl: string
  teamFingerprint: string
}

export interface CouldNotDecryptInput {
  report: ReplyTarget
  intakeId: string
  from: string | Address
  publicUrl: string
  teamFingerprint: string
}

export interface TeamNotificationInput {
  intakeId: string
  advisory?: AdvisoryRef
  repo?: string
  flags: {
    encrypted: boolean
    signature: SignatureState | SignatureState['state'] | 'unknown'
    /** Our own reason (a ReportError message), never report content. */
    quarantined?: string
    unverifiedSender: boolean
  }
  to: string | Address
  from: string | Address
}

export class NoReplyRecipientError extends Error {
  constructor () {
    super('the report has no usable reply address')
    this.name = 'NoReplyRecipientError'
  }
}

const WIDTH = 72
const REFERENCES_MAX = 20

export function acknowledgement (input: AcknowledgementInput): MailMessage {
  const { report, intakeId, advisory } = input
  const text = [
    'Hello,',
    '',
    ...wrap('Thank you for reporting a security issue to the Stacklok security team. This is an automatic confirmation that your report arrived and was filed as a private draft security advisory for the team to triage.'),
    '',
    `  Advisory:  ${token(advisory.ghsaId)} (private draft)`,
    `  Intake id: ${token(intakeId)}`,
    '',
    ...wrap('The advisory is visible only to the security team and the maintainers they invite. To add information, reply to this message and quote the advisory id.'),
    '',
    ...wrap('What happens next (from our security policy; the timelines assume a private disclosure and count from your report):'),
    '',
    ...bullet('Within 24 hours the security team identifies the engineers of the affected project and forms the Fix Team in the advisory.'),
    ...bullet('Within 1-7 days of disclosure the Fix Team develops the fix in a private fork, scores the severity with CVSS and requests a CVE if needed. You may be invited to the advisory to help review the fix.'),
    ...bullet('Within 1-21 days of disclosure the fix is released and the advisory published, with an announcement to users.'),
    '',
    ...wrap('If the issue is already public, or you intend to make it public before a fix is available, please reply and tell us: publicly disclosed issues are handled as urgent and every timeline above becomes "as soon as possible".'),
    '',
    ...keyParagraph('To send further details encrypted, use our OpenPGP key:', input),
    '',
    ...signature()
  ].join('\n')
  return reply(input.from, report, {
    subject: replySubject(intakeId),
    messageId: messageId('ack', intakeId, input.from),
    text
  })
}

export function couldNotDecrypt (input: CouldNotDecryptInput): MailMessage {
  const text = [
    'Hello,',
    '',
    ...wrap('Your message to the Stacklok security team arrived, but we could not decrypt or read it automatically, so it has not been filed yet.'),
    '',
    `  Intake id: ${token(input.intakeId)}`,
    '',
    ...wrap('This usually means it was encrypted to a key that is not (or no longer) ours, or that the encrypted data was damaged or not integrity protected.'),
    '',
    ...keyParagraph('Please send your report again, encrypted to our current OpenPGP key:', input),
    '',
    ...wrap('If you cannot encrypt, you can also use the "Report a vulnerability" button on the Security tab of the affected GitHub repository.'),
    '',
    ...signature()
  ].join('\n')
  return reply(input.from, input.report, {
    subject: replySubject(input.intakeId),
    messageId: messageId('undecryptable', input.intakeId, input.from),
    text
  })
}

// Content-free by design: no subject, no sender, no text. Subjects leak content too.
export function teamNotification (input: TeamNotificationInput): MailMessage {
  const { flags, advisory } = input
  const lines = [
    flags.quarantined !== undefined
      ? 'A vulnerability report arrived and was QUARANTINED.'
      : 'A vulnerability report arrived.',
    '',
    `  Intake id:  ${token(input.intakeId)}`
  ]
  if (advisory) lines.push(`  Advisory:   ${token(advisory.ghsaId)}`)
  if (input.repo !== undefined) lines.push(`  Repository: ${headerText(input.repo, 100)}`)
  lines.push(
    `  Encrypted:  ${flags.encrypted ? 'yes' : 'no'}`,
    `  Signature:  ${signatureWord(flags.signature)}`,
    `  Sender:     ${flags.unverifiedSender ? 'unverified (From is not authenticated; a key sent in the message proves nothing)' : 'verified by a signature from a key on record'}`
  )
  if (flags.quarantined !== undefined) {
    lines.push('', ...wrap(`Quarantined: ${headerText(flags.quarantined, 300)}`))
  }
  // On a line of its own so it is never wrapped (a URL cannot be).
  const url = httpUrl(advisory?.htmlUrl)
  if (url !== undefined) lines.push('', 'Open the advisory:', url)
  lines.push('', ...wrap('The report itself is only in the private advisory (or the quarantine); this notice never carries its content.'))
  const to = toAddress(input.to)
  if (to === undefined) throw new Error('team notification address is not valid')
  return {
    from: input.from,
    to,
    envelope: { from: addressOf(input.from), to: [to.address] },
    subject: `[security intake] ${flags.quarantined !== undefined ? 'Quarantined report' : 'New report'} ${token(input.intakeId)}`,
    messageId: messageId(flags.quarantined !== undefined ? 'notify-quarantined' : 'notify', input.intakeId, input.from),
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
    text: lines.join('\n') + '\n'
  }
}

/** Reply-To if set, else From: one address, validated, or undefined. */
export function replyRecipient (report: Pick<OpenedReport, 'from' | 'replyTo'>): Address | undefined {
  const target = report.replyTo ?? report.from
  return target === undefined ? undefined : toAddress(target)
}

export function reply (from: string | Address, report: ReplyTarget, parts: { subject: string, messageId: string, text: string }): MailMessage {
  const to = replyRecipient(report)
  if (to === undefined) throw new NoReplyRecipientError()
  const parent = msgId(report.messageId)
  const references = threadReferences(report.references, parent)
  return {
    from,
    to: { address: to.address }, // no display name: it is the sender's text too
    envelope: { from: addressOf(from), to: [to.address] },
    subject: parts.subject,
    messageId: parts.messageId,
    ...(parent !== undefined ? { inReplyTo: parent } : {}),
    ...(references.length > 0 ? { references } : {}),
    // RFC 3834: mark the reply, and ask Exchange-style responders not to answer it.
    headers: { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All' },
    text: parts.text + '\n'
  }
}

// A fixed subject, never the sender's: the From of inbound mail is not authenticated,
// so echoing its Subject (or display name) would let anyone make security@ send their
// words, DKIM-signed, to an address of their choice. It also cannot leak an encrypted
// report's protected subject. Threading rides on In-Reply-To/References.
function replySubject (intakeId: string): string {
  return `Re: your vulnerability report [${token(intakeId)}]`
}

function threadReferences (references: string[], parent: string | undefined): string[] {
  const ids: string[] = []
  for (const id of [...references, parent]) {
    const clean = msgId(id)
    if (clean !== undefined && !ids.includes(clean)) ids.push(clean)
  }
  if (parent !== undefined && ids.at(-1) !== parent) {
    ids.splice(ids.indexOf(parent), 1)
    ids.push(parent)
  }
  // RFC 5322 3.6.4: keep the first (thread root) and the most recent ones.
  return ids.length <= REFERENCES_MAX ? ids : [ids[0] as string, ...ids.slice(-(REFERENCES_MAX - 1))]
}

/** A Message-ID as `<left@right>`, or undefined when the value is not one. */
function msgId (value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  const core = value.trim().replace(/^<|>$/g, '')
  if (core.length === 0 || core.length > 250 || !/^[\x21-\x3B\x3D\x3F-\x7E]+$/.test(core)) return undefined
  return `<${core}>`
}

export function messageId (kind: string, intakeId: string, from: string | Address): string {
  return `<${kind}.${token(intakeId)}@${domainOf(addressOf(from))}>`
}

function toAddress (value: string | Address): Address | undefined {
  const address = mailboxAddress(typeof value === 'string' ? addressOf(value) : value.address)
  if (address === undefined) return undefined
  const name = typeof value === 'string' ? '' : headerText(value.name ?? '', 100)
  return name === '' ? { address } : { name, address }
}

// A conservative addr-spec: dot-atom local part, hostname domain (IDN to A-labels). Anything
// else (quoted local parts, several addresses, header syntax) gets no automatic reply.
function mailboxAddress (value: string): string | undefined {
  const clean = headerText(value, 320)
  const at = clean.lastIndexOf('@')
  if (at <= 0) return undefined
  const local = clean.slice(0, at)
  const domain = domainToASCII(clean.slice(at + 1))
  if (!/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/.test(local)) return undefined
  if (!/^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}$/.test(domain)) return undefined
  return `${local}@${domain}`
}

/** The bare address of `Name <addr>` or `addr`. */
export function addressOf (value: string | Address): string {
  if (typeof value !== 'string') return value.address
  const angle = /<([^<>]*)>\s*$/.exec(value)
  return (angle?.[1] ?? value).trim()
}

function domainOf (address: string): string {
  const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase().replace(/[^a-z0-9.-]/g, '')
  return domain === '' || address.lastIndexOf('@') < 0 ? 'localhost' : domain
}

/** One line, no control characters, capped: safe for a header and for our text. */
export function headerText (value: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const line = value.replace(/[\u0000-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g, ' ').replace(/\s+/g, ' ').trim()
  return Array.from(line).slice(0, max).join('')
}

// Ids we print (intake id, GHSA id) come from us or GitHub; keep them to a plain charset anyway.
function token (value: string): string {
  return value.replace(/[^A-Za-z0-9._-]/g, '').slice(0, 100)
}

function httpUrl (value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined
  try {
    const url = new URL(value)
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined
  } catch {
    return undefined
  }
}

function signatureWord (sig: TeamNotificationInput['flags']['signature']): string {
  const state = typeof sig === 'string' ? sig : sig.state
  const words: Record<string, string> = {
    unsigned: 'unsigned',
    verified: 'valid signature',
    'no-key': 'signed, signer key unknown',
    bad: 'BAD signature',
    unknown: 'unknown'
  }
  return words[state] ?? 'unknown'
}

function keyParagraph (intro: string, input: { publicUrl: string, teamFingerprint: string }): string[] {
  return [
    ...wrap(intro),
    '',
    `  Fingerprint: ${formatFingerprint(input.teamFingerprint)}`,
    `  Key:         ${input.publicUrl.replace(/\/+$/, '')}/pgp-key.asc`
  ]
}

/** GnuPG's grouping: ten groups of four, two spaces in the middle. */
export function formatFingerprint (fingerprint: string): string {
  const hex = fingerprint.replace(/[^0-9A-Fa-f]/g, '').toUpperCase()
  const groups = hex.match(/.{1,4}/g) ?? []
  const half = Math.ceil(groups.length / 2)
  return `${groups.slice(0, half).join(' ')}  ${groups.slice(half).join(' ')}`.trim()
}

function signature (): string[] {
  return ['-- ', 'Stacklok security team (automatic message)']
}

function bullet (paragraph: string): string[] {
  return wrap(paragraph, WIDTH - 2).map((line, i) => (i === 0 ? '- ' : '  ') + line)
}

/** Greedy word wrap; a single word longer than the width stays whole on its own line. */
export function wrap (paragraph: string, width = WIDTH): string[] {
  const lines: string[] = []
  let line = ''
  for (const word of paragraph.split(/\s+/).filter(Boolean)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line)
      line = word
    } else {
      line = line === '' ? word : `${line} ${word}`
    }
  }
  if (line !== '') lines.push(line)
  return lines
}

const OWN_KINDS = ['ack', 'undecryptable', 'notify', 'notify-quarantined']

/**
 * True when the message answers one of our own automatic messages (its In-Reply-To or
 * References holds a Message-ID we made). It is still filed — a reporter may be adding
 * details — but never auto-answered: a responder that ignores Auto-Submitted would
 * otherwise loop with us, one advisory per round.
 */
export function answersOwnMessage (headers: Map<string, string>, from: string | Address): boolean {
  const domain = domainOf(addressOf(from)).toLowerCase()
  const values = [headers.get('in-reply-to') ?? '', headers.get('references') ?? ''].map((v) => v.slice(0, 16_384))
  for (const value of values) {
    for (const match of value.matchAll(/<([^<>\s]{1,250})>/g)) {
      const id = (match[1] ?? '').toLowerCase()
      const at = id.lastIndexOf('@')
      const kind = id.slice(0, id.indexOf('.'))
      if (at !== -1 && id.slice(at + 1) === domain && OWN_KINDS.includes(kind)) return true
    }
  }
  return false
}
