// RFC 3834 section 2: when an automatic reply must not be sent. Getting this wrong
// means mail loops with vacation responders, list servers and bounce handlers, or
// acknowledgements sprayed at a whole mailing list. Reasons are fixed strings (never
// header values), so they are safe to log and to store with the intake's progress.
import type { OpenedReport } from '../domain/report.js'

export type AutoReplyDecision = { ok: true } | { ok: false, reason: string }

type Headers = Map<string, string>
type Check = (headers: Headers) => string | undefined

export function mayAutoReply (report: Pick<OpenedReport, 'headers' | 'from'>, envelopeFrom?: string): AutoReplyDecision {
  const headers = lowerCased(report.headers)
  const checks: Check[] = [
    autoSubmitted,
    responseSuppressed,
    autoResponder,
    listHeaders,
    precedence,
    deliveryReport,
    (h) => emptyReturnPath(h, envelopeFrom),
    () => report.from?.address ? undefined : 'no-from',
    (h) => robotMailbox(h, report.from?.address, envelopeFrom)
  ]
  for (const check of checks) {
    const reason = check(headers)
    if (reason !== undefined) return { ok: false, reason }
  }
  return { ok: true }
}

// The map is documented as lower-cased; a producer that forgets must not open a loop.
function lowerCased (headers: Headers): Headers {
  const out: Headers = new Map()
  for (const [k, v] of headers) {
    const key = k.toLowerCase()
    if (!out.has(key)) out.set(key, v)
  }
  return out
}

/** First token of a structured header, lower-cased, without parameters or comments. */
function keyword (value: string): string {
  return (value.split(/[;(]/, 1)[0] ?? '').trim().toLowerCase()
}

function autoSubmitted (h: Headers): string | undefined {
  const value = h.get('auto-submitted')
  if (value === undefined) return undefined
  return keyword(value) === 'no' ? undefined : 'auto-submitted'
}

// Microsoft's way of saying the same: All or AutoReply means "do not auto-reply to me".
function responseSuppressed (h: Headers): string | undefined {
  const value = h.get('x-auto-response-suppress')
  if (value === undefined) return undefined
  const tokens = value.toLowerCase().split(/[\s,;]+/)
  return tokens.includes('all') || tokens.includes('autoreply') ? 'x-auto-response-suppress' : undefined
}

// Vacation responders that predate Auto-Submitted still mark themselves this way.
function autoResponder (h: Headers): string | undefined {
  return h.has('x-autoreply') || h.has('x-autorespond') ? 'auto-responder' : undefined
}

function listHeaders (h: Headers): string | undefined {
  for (const name of h.keys()) {
    if (name.startsWith('list-')) return 'list-header'
  }
  return undefined
}

function precedence (h: Headers): string | undefined {
  const value = h.get('precedence')
  if (value === undefined) return undefined
  return ['bulk', 'junk', 'list'].includes(keyword(value)) ? 'precedence' : undefined
}

function deliveryReport (h: Headers): string | undefined {
  const type = keyword(h.get('content-type') ?? '')
  const reports = ['multipart/report', 'message/delivery-status', 'message/disposition-notification']
  return reports.includes(type) ? 'delivery-report' : undefined
}

function emptyReturnPath (h: Headers, envelopeFrom?: string): string | undefined {
  const returnPath = h.get('return-path')
  if (returnPath !== undefined && isNullPath(returnPath)) return 'empty-return-path'
  if (envelopeFrom !== undefined && isNullPath(envelopeFrom)) return 'empty-return-path'
  return undefined
}

// `<>` or nothing, blanks allowed. Compared after trim(): the regex this replaces
// (`^\s*(<\s*>)?\s*$`) backtracked quadratically over a long run of blanks.
function isNullPath (value: string): boolean {
  const trimmed = value.trim()
  if (trimmed === '') return true
  return trimmed.startsWith('<') && trimmed.endsWith('>') && trimmed.slice(1, -1).trim() === ''
}

// MAILER-DAEMON, owner-* and *-request belong to bounce handlers and list servers. The
// reply goes to Reply-To when set, so that mailbox is checked as well as From.
function robotMailbox (h: Headers, from: string | undefined, envelopeFrom?: string): string | undefined {
  const candidates = [
    from ?? '',
    envelopeFrom ?? '',
    ...addressesIn(h.get('return-path') ?? ''),
    ...addressesIn(h.get('reply-to') ?? ''),
    ...addressesIn(h.get('sender') ?? '')
  ]
  for (const address of candidates) {
    const reason = robotReason(address)
    if (reason !== undefined) return reason
  }
  return undefined
}

/** A robot's mailbox comes first in any real header; the rest of a huge value is not read. */
const maxAddressHeaderChars = 4096

// Tokens between delimiters holding an '@' with something either side: what the regex
// `[^delims]+@[^delims]+` matched, without its quadratic backtracking over a long token
// that has no '@'.
function addressesIn (value: string): string[] {
  return value.slice(0, maxAddressHeaderChars)
    .split(/[\s<>,;:"()]+/)
    .filter((token) => token.slice(1, -1).includes('@'))
}

/** Why a mailbox belongs to software rather than a person, by its local part. */
function robotReason (address: string): string | undefined {
  const at = address.lastIndexOf('@')
  const local = unwrapped((at < 0 ? address : address.slice(0, at)).trim()).toLowerCase()
  if (local === 'mailer-daemon') return 'mailer-daemon'
  if (local.startsWith('owner-')) return 'list-owner'
  if (local.endsWith('-request')) return 'list-request'
  return undefined
}

// Leading `<` and `"`, trailing `"` removed by index: the regex `"+$` rescanned a long
// run of quotes from each of its positions.
function unwrapped (local: string): string {
  let start = 0
  while (start < local.length && (local[start] === '<' || local[start] === '"')) start++
  let end = local.length
  while (end > start && local[end - 1] === '"') end--
  return local.slice(start, end)
}

/**
 * Mail that is machinery rather than a report: delivery reports (bounces of our own
 * acknowledgements come back to security@), bounces in plain text (no RFC 3464 report),
 * auto-replies, and our own automated mail looping back (a team notice forwarded to the
 * intake). Filing these as advisories would flood the team; the caller keeps them in the
 * quarantine instead. Only headers are read, never the body: a report that talks about a
 * bounce is still a report.
 */
export function automatedMessage (report: Pick<OpenedReport, 'headers' | 'from' | 'subject'>, ownAddresses: string[]): string | undefined {
  const h = lowerCased(report.headers)
  const dsn = deliveryReport(h)
  if (dsn !== undefined) return dsn
  const from = report.from?.address.toLowerCase()
  if (from !== undefined && ownAddresses.includes(from) && autoSubmitted(h) !== undefined) return 'own automated mail'
  return plainBounce(h, from, report.subject)
}

/**
 * A bounce or auto-reply without an RFC 3464 report. Strict, because a false positive
 * keeps a real report out of the advisories: MAILER-DAEMON is never a person and
 * `Auto-Submitted: auto-replied` only answers another message (RFC 3834), so each is
 * enough alone; a bounce subject needs a second sign (postmaster as sender, a null
 * return path, Auto-Submitted), since a person may choose such words or a postmaster
 * forward a report ("Fwd: ..." never matches: the subject must start with them).
 */
function plainBounce (h: Headers, from: string | undefined, subject: string | undefined): string | undefined {
  if (from !== undefined && robotReason(from) === 'mailer-daemon') return 'bounce from MAILER-DAEMON'
  const submitted = h.get('auto-submitted')
  if (submitted !== undefined && keyword(submitted) === 'auto-replied') return 'auto-replied'
  if (!bounceSubject(subject ?? '')) return undefined
  if (from !== undefined && localPart(from) === 'postmaster') return 'bounce from postmaster'
  if (emptyReturnPath(h) !== undefined) return 'bounce with a null return path'
  if (autoSubmitted(h) !== undefined) return 'auto-submitted bounce'
  return undefined
}

// What MTAs put at the start of a bounce's subject (Postfix, Gmail/Exchange DSNs,
// qmail/Yahoo, Exim, Sendmail, Outlook). Compared as a prefix of a bounded, lower-cased
// subject: no regex over sender text.
const bounceSubjects = [
  'undelivered mail returned to sender',
  'delivery status notification (failure)',
  'delivery status notification (delay)',
  'failure notice',
  'mail delivery failed',
  'mail delivery failure',
  'returned mail:',
  'undeliverable:',
  'undelivered mail',
  'delivery failure',
  'message not delivered',
  'delivery has failed'
]

function bounceSubject (subject: string): boolean {
  const start = subject.slice(0, 200).trim().toLowerCase().replace(/\s+/g, ' ')
  return bounceSubjects.some((prefix) => start.startsWith(prefix))
}

function localPart (address: string): string {
  const at = address.lastIndexOf('@')
  return unwrapped((at < 0 ? address : address.slice(0, at)).trim()).toLowerCase()
}
