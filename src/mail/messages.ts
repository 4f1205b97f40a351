// The mails the gateway writes, as nodemailer message objects (sending is transport.ts).
// None of them quotes the report: the reporter already has it, and the team reads it in
// the private advisory, not in an inbox. Every header value that comes from the report
// is reduced to one line without control characters before nodemailer sees it.
import { domainToASCII } from 'node:url'
import type { Address, OpenedReport, SignatureState } from '../domain/report.js'
import { builtinTemplates, wrapText, type Rendered, type Templates } from './templates.js'

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

interface MailAttachment {
  filename: string
  content: string | Buffer
  contentType: string
}

interface AdvisoryRef {
  ghsaId: string
  htmlUrl?: string
}

export interface AcknowledgementInput {
  templates?: Templates
  report: ReplyTarget
  intakeId: string
  advisory: AdvisoryRef
  from: string | Address
  publicUrl: string
  teamFingerprint: string
}

export interface CouldNotDecryptInput {
  templates?: Templates
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
    /** The reporter says (or the report shows) the issue is public: every timeline is ASAP. */
    urgent?: boolean
    /** Why no acknowledgement went to the reporter (our own fixed words), when none did. */
    ackSuppressed?: string
  }
  /** The advisory's severity, when the report gave one (critical, high, medium, low). */
  severity?: string
  to: string | Address
  from: string | Address
}

export class NoReplyRecipientError extends Error {
  constructor () {
    super('the report has no usable reply address')
    this.name = 'NoReplyRecipientError'
  }
}

const REFERENCES_MAX = 20

export function acknowledgement (input: AcknowledgementInput): MailMessage {
  const { intakeId, advisory } = input
  const rendered = (input.templates ?? builtinTemplates()).render('acknowledgement', {
    intakeId: token(intakeId),
    ghsaId: token(advisory.ghsaId),
    ...keyValues(input)
  })
  return templatedReply(input, 'ack', rendered)
}

export function couldNotDecrypt (input: CouldNotDecryptInput): MailMessage {
  const rendered = (input.templates ?? builtinTemplates()).render('could-not-decrypt', { intakeId: token(input.intakeId), ...keyValues(input) })
  return templatedReply(input, 'undecryptable', rendered)
}

export interface PublishedInput {
  report: ReplyTarget
  intakeId: string
  advisory: AdvisoryRef & { cveId?: string | null }
  from: string | Address
  publicUrl: string
  templates?: Templates
}

/** To the reporter, once the advisory is public: its ids and link (public now). */
export function publishedNotice (input: PublishedInput): MailMessage {
  const { advisory } = input
  const rendered = (input.templates ?? builtinTemplates()).render('published', {
    intakeId: token(input.intakeId),
    ghsaId: token(advisory.ghsaId),
    cveId: advisory.cveId == null || advisory.cveId === '' ? 'none assigned' : token(advisory.cveId),
    advisoryUrl: httpUrl(advisory.htmlUrl) ?? '',
    publicUrl: input.publicUrl
  })
  return templatedReply(input, 'published', rendered)
}

/** A reply to the report from a rendered template; `kind` names its Message-ID (see OWN_KINDS). */
function templatedReply (input: { from: string | Address, report: ReplyTarget, intakeId: string }, kind: string, rendered: Rendered): MailMessage {
  return reply(input.from, input.report, {
    subject: rendered.subject ?? replySubject(input.intakeId),
    messageId: messageId(kind, input.intakeId, input.from),
    text: rendered.text
  })
}

export interface TeamTimelineInput {
  intakeId: string
  advisory: AdvisoryRef
  repo: string
  to: string | Address
  from: string | Address
  templates?: Templates
}

/** A SECURITY.md timeline reminder to the team (content-free, like every team notice). */
export function reminderNotice (input: TeamTimelineInput & { step: string, stepLabel: string, due: string, state: string, releaseDay?: string }): MailMessage {
  const rendered = (input.templates ?? builtinTemplates()).render('reminder', {
    intakeId: token(input.intakeId),
    ghsaId: token(input.advisory.ghsaId),
    advisoryUrl: httpUrl(input.advisory.htmlUrl) ?? '',
    repository: headerText(input.repo, 100),
    step: headerText(input.stepLabel, 100),
    due: headerText(input.due, 100),
    state: token(input.state),
    releaseDay: input.releaseDay === undefined ? 'not agreed yet (npm run intake -- advisory schedule)' : headerText(input.releaseDay, 100)
  })
  return teamMail(input, {
    subject: rendered.subject ?? `[security intake] Reminder ${token(input.advisory.ghsaId)}`,
    messageId: messageId(`reminder-${token(input.step)}`, input.intakeId, input.from),
    text: rendered.text
  })
}

export interface RetrospectiveInput extends TeamTimelineInput {
  publishedAt: string
  cveId?: string | null
  /** formatTimeline lines, durations, people and links: one entry per line, ours or GitHub's ids. */
  timeline: string[]
  durations: string[]
  people: string[]
  links: string[]
}

/** The retrospective draft for the team: the report's record, who was involved, links, open headings. */
export function retrospectiveNotice (input: RetrospectiveInput): MailMessage {
  // eslint-disable-next-line no-control-regex
  const block = (lines: string[]) => lines.slice(0, 200).map((l) => Array.from(l.replace(/[\u0000-\u001F\u007F-\u009F\u2028\u2029]/g, ' ')).slice(0, 300).join('')).join('\n')
  const rendered = (input.templates ?? builtinTemplates()).render('retrospective', {
    intakeId: token(input.intakeId),
    ghsaId: token(input.advisory.ghsaId),
    cveId: input.cveId == null || input.cveId === '' ? 'none assigned' : token(input.cveId),
    advisoryUrl: httpUrl(input.advisory.htmlUrl) ?? '',
    repository: headerText(input.repo, 100),
    publishedAt: headerText(input.publishedAt, 40),
    timeline: block(input.timeline),
    durations: block(input.durations),
    people: block(input.people),
    links: block(input.links)
  })
  return teamMail(input, {
    subject: rendered.subject ?? `[security intake] Retrospective ${token(input.advisory.ghsaId)}`,
    messageId: messageId('retro', input.intakeId, input.from),
    text: rendered.text
  })
}

/**
 * The release announcement may or may not have reached Discord (or was refused on every
 * attempt): the team checks the channel and runs the command. Content-free like the rest.
 */
export function announcementCheckNotice (input: TeamTimelineInput & { reason: string, command: string }): MailMessage {
  const lines = [
    `The release announcement for ${token(input.advisory.ghsaId)} needs a check.`,
    '',
    `  Advisory:   ${token(input.advisory.ghsaId)}`,
    `  Repository: ${headerText(input.repo, 100)}`,
    `  Intake id:  ${token(input.intakeId)}`,
    '',
    ...wrapText(headerText(input.reason, 300)),
    '',
    'Once you know whether it is in the channel, post it if it is not:',
    `  ${headerText(input.command, 200)}`
  ]
  const url = httpUrl(input.advisory.htmlUrl)
  if (url !== undefined) lines.push('', 'Open the advisory:', url)
  return teamMail(input, {
    subject: `[security intake] Check the release announcement for ${token(input.advisory.ghsaId)}`,
    messageId: messageId('announce-check', input.intakeId, input.from),
    text: lines.join('\n') + '\n'
  })
}

function teamMail (input: { to: string | Address, from: string | Address }, parts: { subject: string, messageId: string, text: string }): MailMessage {
  const to = toAddress(input.to)
  if (to === undefined) throw new Error('team notification address is not valid')
  return {
    from: input.from,
    to,
    envelope: { from: addressOf(input.from), to: [to.address] },
    subject: headerText(parts.subject, 200),
    messageId: parts.messageId,
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
    text: parts.text
  }
}

function keyValues (input: { publicUrl: string, teamFingerprint: string }) {
  return {
    fingerprint: formatFingerprint(input.teamFingerprint),
    keyUrl: `${input.publicUrl.replace(/\/+$/, '')}/pgp-key.asc`,
    publicUrl: input.publicUrl
  }
}

// Content-free by design: no subject, no sender, no text. Subjects leak content too.
export function teamNotification (input: TeamNotificationInput): MailMessage {
  const { flags, advisory } = input
  const lines = [
    (flags.urgent === true ? 'URGENT (publicly disclosed): ' : '') + (flags.quarantined !== undefined
      ? 'A vulnerability report arrived and was QUARANTINED.'
      : 'A vulnerability report arrived.'),
    '',
    `  Intake id:  ${token(input.intakeId)}`
  ]
  if (advisory) lines.push(`  Advisory:   ${token(advisory.ghsaId)}`)
  if (input.repo !== undefined) lines.push(`  Repository: ${headerText(input.repo, 100)}`)
  if (input.severity !== undefined) lines.push(`  Severity:   ${token(input.severity)}`)
  lines.push(
    `  Urgent:     ${flags.urgent === true ? 'yes, publicly disclosed: every timeline is ASAP' : 'no'}`,
    `  Encrypted:  ${flags.encrypted ? 'yes' : 'no'}`,
    `  Signature:  ${signatureWord(flags.signature)}`,
    `  Sender:     ${flags.unverifiedSender ? 'unverified (From is not authenticated; a key sent in the message proves nothing)' : 'verified by a signature from a key on record'}`
  )
  if (flags.ackSuppressed !== undefined) {
    lines.push('', ...wrapText(`Acknowledgement NOT sent to the reporter: ${headerText(flags.ackSuppressed, 300)}`))
  }
  if (flags.quarantined !== undefined) {
    lines.push('', ...wrapText(`Quarantined: ${headerText(flags.quarantined, 300)}`))
  }
  // On a line of its own so it is never wrapped (a URL cannot be).
  const url = httpUrl(advisory?.htmlUrl)
  if (url !== undefined) lines.push('', 'Open the advisory:', url)
  lines.push('', ...wrapText('The report itself is only in the private advisory (or the quarantine); this notice never carries its content.'))
  return teamMail(input, {
    subject: `[security intake] ${flags.urgent === true ? 'URGENT ' : ''}${flags.quarantined !== undefined ? 'Quarantined report' : 'New report'} ${token(input.intakeId)}`,
    messageId: messageId(flags.quarantined !== undefined ? 'notify-quarantined' : 'notify', input.intakeId, input.from),
    text: lines.join('\n') + '\n'
  })
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
export function mailboxAddress (value: string): string | undefined {
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

/** GnuPG's grouping: ten groups of four, two spaces in the middle. */
export function formatFingerprint (fingerprint: string): string {
  const hex = fingerprint.replace(/[^0-9A-Fa-f]/g, '').toUpperCase()
  const groups = hex.match(/.{1,4}/g) ?? []
  const half = Math.ceil(groups.length / 2)
  return `${groups.slice(0, half).join(' ')}  ${groups.slice(half).join(' ')}`.trim()
}

const OWN_KINDS = ['ack', 'undecryptable', 'notify', 'notify-quarantined', 'published', 'retro', 'key']

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
      if (at !== -1 && id.slice(at + 1) === domain && (OWN_KINDS.includes(kind) || kind.startsWith('reminder-') || kind.startsWith('distributor-'))) return true
    }
  }
  return false
}
