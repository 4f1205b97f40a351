// Turns an opened report into the summary and Markdown description of a draft advisory.
//
// Everything that comes from the report (subject, text, names, filenames, content types,
// reasons) is hostile. GitHub renders the description as Markdown and then runs its
// mention and issue-reference filters over the rendered text nodes, skipping <pre> and
// <code>. So report content only ever appears inside code: the text in a fenced block
// whose fence is longer than any run of its fence character, table values in code spans
// whose delimiter is longer than any backtick run they hold. Inside code nothing is a
// mention, a reference, a link or HTML. The summary is plain text (GitHub escapes it),
// so there mentions and cross-repository references are broken with a zero-width joiner.
// Backslash-escaping (`\@login`) would not do: cmark drops the backslash and the mention
// filter then sees `@login` in the rendered text.
import { intakeMarker } from './marker.js'
import { limits } from '../domain/limits.js'
import { fenceFor, fenceLanguage, longestRun } from '../triage/attachments.js'
import type { OpenedReport, PartSignature, ReportAttachment, SignatureState } from '../domain/report.js'
import type { Ecosystem } from '../domain/advisory.js'

export interface RenderMeta {
  intakeId: string
  receivedAt: Date
  provider?: string
}

/** What triage adds: its table, a summary prefix, attachments shown inline. */
export interface RenderExtras {
  /** Markdown lines placed after the metadata table (already safe: see triage-section.ts). */
  sections?: string[]
  /** Our own words before the subject, e.g. "[PUBLICLY DISCLOSED]". */
  summaryPrefix?: string
  /** Attachment index -> text shown inline in a fence. */
  inline?: Map<number, string>
}

export interface RenderedAdvisory {
  summary: string
  description: string
}

interface AdvisoryVulnerability {
  package: { ecosystem: Ecosystem, name: string | null }
  vulnerable_version_range?: string | null
  patched_versions?: string | null
}

/** Body of POST /repos/{owner}/{repo}/security-advisories. Optional fields are omitted, never null. */
export interface AdvisoryCreateBody {
  summary: string
  description: string
  vulnerabilities: AdvisoryVulnerability[]
  severity?: 'critical' | 'high' | 'medium' | 'low'
  cvss_vector_string?: string
  cwe_ids?: string[]
  credits?: Array<{ login: string, type: 'reporter' }>
  /** GitHub starts the temporary private fork with the advisory (PRIVATE_FORK_POLICY). */
  start_private_fork?: boolean
}

export interface CreateBodyOptions {
  vulnerabilities?: AdvisoryVulnerability[]
  severity?: 'critical' | 'high' | 'medium' | 'low'
  cvssVectorString?: string
  cweIds?: string[]
  /** Logins checked to exist; credited as `reporter`. */
  reporters?: string[]
  extras?: RenderExtras
  /** Ask GitHub for the temporary private fork with the advisory. */
  startPrivateFork?: boolean
}

const SUMMARY_MAX = 1024
const CELL_MAX = 200
const ATTACHMENT_ROWS_MAX = 50
const ZWJ = '\u200D'

// C0/C1 controls plus the invisible bidi and line-separator characters that can make a
// single line render as something else (Trojan Source style reordering).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F-\u009F\u200E\u200F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g

export function renderAdvisory (report: OpenedReport, meta: RenderMeta, extras: RenderExtras = {}): RenderedAdvisory {
  const summary = renderSummary(report.subject, meta.intakeId)
  return {
    summary: extras.summaryPrefix === undefined ? summary : cut(`${extras.summaryPrefix} ${summary}`, SUMMARY_MAX),
    description: renderDescription(report, meta, extras)
  }
}

export function buildCreateBody (report: OpenedReport, meta: RenderMeta, options: CreateBodyOptions = {}): AdvisoryCreateBody {
  const { summary, description } = renderAdvisory(report, meta, options.extras)
  const body: AdvisoryCreateBody = {
    summary,
    description,
    vulnerabilities: options.vulnerabilities ?? [{ package: { ecosystem: 'other', name: null } }]
  }
  // GitHub refuses severity together with a CVSS vector, and severity: null fails the enum.
  if (options.cvssVectorString !== undefined) body.cvss_vector_string = options.cvssVectorString
  else if (options.severity !== undefined) body.severity = options.severity
  if (options.cweIds !== undefined && options.cweIds.length > 0) body.cwe_ids = options.cweIds
  if (options.reporters !== undefined && options.reporters.length > 0) body.credits = options.reporters.map((login) => ({ login, type: 'reporter' as const }))
  if (options.startPrivateFork === true) body.start_private_fork = true
  return body
}

export function renderSummary (subject: string, intakeId: string): string {
  const line = neutralisePlain(singleLine(subject))
  return cut(line === '' ? `Vulnerability report ${intakeId}` : line, SUMMARY_MAX)
}

function renderDescription (report: OpenedReport, meta: RenderMeta, extras: RenderExtras): string {
  const inline = extras.inline ?? new Map<number, string>()
  const head = (shown: Set<number>): string => [
    intakeMarker(meta.intakeId),
    '',
    '## Vulnerability report received by e-mail',
    '',
    ...metadataTable(report, meta, inline.size > 0),
    '',
    ...(extras.sections ?? []),
    ...attachmentsSection(report.attachments, shown),
    '### Report text',
    ''
  ].join('\n')
  // Inline attachments take what the report text leaves (the text comes first); one
  // that does not fit is only listed, with its digest, like a binary one.
  const blocks = [...inline.entries()].map(([index, text]) => ({ index, block: inlineBlock(report.attachments[index], index, text) }))
  const textNeed = report.text.length + 2 * fenceFor(report.text).length + 16
  const shown = new Set<number>()
  let used = 0
  const room = limits.descriptionChars - head(new Set(blocks.map((b) => b.index))).length - textNeed
  for (const { index, block } of blocks) {
    if (used + block.length > room) continue
    used += block.length
    shown.add(index)
  }
  const top = head(shown)
  const tail = blocks.filter((b) => shown.has(b.index)).map((b) => b.block).join('')
  const attachmentsTail = tail === '' ? '' : `\n### Attachments shown inline\n\n${tail}`
  return top + textSection(report.text, meta.intakeId, limits.descriptionChars - top.length - attachmentsTail.length) + attachmentsTail
}

// An attachment's text in a fence of its own; the heading names it in a code span.
function inlineBlock (a: ReportAttachment | undefined, index: number, text: string): string {
  const body = escapeText(text)
  const fence = fenceFor(body)
  const lang = a === undefined ? 'text' : fenceLanguage(a.filename)
  return `#### Attachment ${index + 1}: ${a === undefined ? '' : code(a.filename, 120)}\n\n${fence}${lang}\n${body.endsWith('\n') ? body : body + '\n'}${fence}\n\n`
}

function metadataTable (report: OpenedReport, meta: RenderMeta, someInline = false): string[] {
  const rows: Array<[string, string]> = [
    ['Intake id', code(meta.intakeId)],
    ['Received at', code(meta.receivedAt.toISOString())]
  ]
  if (meta.provider !== undefined) rows.push(['Inbound provider', code(meta.provider)])
  rows.push(['Sender (From, unauthenticated)', report.from ? code(mailbox(report.from)) : '*(none)*'])
  if (report.replyTo) rows.push(['Reply-To', code(mailbox(report.replyTo))])
  if (report.date && !Number.isNaN(report.date.getTime())) rows.push(['Date header', code(report.date.toISOString())])
  rows.push(['Encrypted', encryptionCell(report)])
  rows.push(['Signature', signatureCell(report.signature)])
  if (report.partSignature) rows.push(['Signature covers', partSignatureCell(report.partSignature)])
  if (report.reporterKey) rows.push(['Reporter key', `${code(report.reporterKey.fingerprint)} (from ${report.reporterKey.source})`])
  rows.push(['Attachments', someInline
    ? `${report.attachments.length} (listed below; text-like ones shown inline after the report text; the rest kept sealed: \`npm run intake -- attachment ${meta.intakeId} <n>\`)`
    : `${report.attachments.length} (listed below; contents not included)`])
  return ['| Field | Value |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${v} |`)]
}

// Per part, so a cleartext body next to an encrypted attachment (EFAIL-style mixing) is
// not read as an encrypted report: only what was decrypted had the key's protection.
function encryptionCell (report: OpenedReport): string {
  if (!report.encrypted) return 'no'
  const key = report.decryptedWith ? `decrypted with team key ${code(report.decryptedWith)}` : ''
  const what = encryptedParts(report)
  if (what === 'yes') return key === '' ? 'yes' : `yes, ${key}`
  return key === '' ? what : `${what}; ${key}`
}

function encryptedParts (report: OpenedReport): string {
  // Reports not made by openReport only know that something was encrypted.
  if (report.bodyEncrypted === undefined || report.decryptedAttachments === undefined) return 'yes'
  const total = report.attachments.length
  const decrypted = Math.min(report.decryptedAttachments, total)
  const clear = total - decrypted
  if (report.bodyEncrypted && clear === 0) return total === 0 ? 'yes' : 'yes, body and attachments'
  const attachments = [
    ...(decrypted > 0 ? [`${plural(decrypted, 'attachment')} decrypted`] : []),
    ...(clear > 0 ? [`**${plural(clear, 'attachment')} in cleartext**`] : [])
  ].join(', ')
  const body = report.bodyEncrypted ? 'body: encrypted' : '**body: cleartext**'
  return attachments === '' ? body : `${body}; ${attachments}`
}

function plural (count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

export function signatureCell (sig: SignatureState): string {
  switch (sig.state) {
    case 'unsigned':
      return 'unsigned'
    case 'verified':
      // A key carried by the message itself proves the message was not altered, not who sent it.
      return sig.keySource === 'known'
        ? `valid, by known key ${code(sig.fingerprint)}`
        : `valid, by key ${code(sig.fingerprint)} taken from the message (${sig.keySource}): not an identity proof`
    case 'no-key':
      return `signed, key not available: key ids ${codeList(sig.keyIds)}`
    case 'bad':
      return `**BAD signature**${sig.fingerprint ? ` by ${code(sig.fingerprint)}` : ''}, key ids ${codeList(sig.keyIds)}: ${code(sig.reason)}`
  }
}

// A signature on a nested part says nothing about what lies outside that part: say so.
function partSignatureCell (part: PartSignature): string {
  const text = part.covers === 'text'
    ? 'a signed part holding all of the report text'
    : `only a signed part holding **some** of the report text (${signatureCell(part.signature)}); the rest of the text is unsigned`
  const outside = part.unsignedAttachments.map((index) => `#${index + 1}`)
  const attachments = outside.length === 0
    ? 'every attachment is inside it'
    : `attachments ${outside.slice(0, 20).join(', ')}${outside.length > 20 ? ' and more' : ''} are outside it and **not signed**`
  return `${text}; ${attachments}`
}

function attachmentsSection (attachments: ReportAttachment[], inline: Set<number> = new Set()): string[] {
  if (attachments.length === 0) return []
  const shown = attachments.slice(0, ATTACHMENT_ROWS_MAX)
  const lines = [
    '### Attachments',
    '',
    '| # | Name | Type | Size (bytes) | SHA-256 | Shown |',
    '| --- | --- | --- | --- | --- | --- |',
    ...shown.map((a, i) => `| ${i + 1} | ${code(a.filename, 120)} | ${code(a.contentType, 80)} | ${a.size} | ${code(a.sha256, 64)} | ${inline.has(i) ? 'inline below' : 'sealed'} |`)
  ]
  if (attachments.length > shown.length) lines.push('', `${attachments.length - shown.length} more attachments are not listed.`)
  return [...lines, '']
}

// The report text in a fence no line of it can close, truncated to the space left.
export function textSection (raw: string, intakeId: string, space: number): string {
  if (!/\S/.test(raw)) return '*(no text part)*\n'
  // Only the part that can be shown matters: a run past the cut must not lengthen the fence.
  const fence = fenceFor(cut(raw, space))
  const total = countCodePoints(raw)
  const note = (shown: number): string => `[truncated: ${shown} of ${total} characters shown; full text in the sealed intake ${intakeId}]\n\n`
  // Fixed parts: fence lines, info string, newlines and the note at its longest.
  const budget = space - note(total).length - 2 * fence.length - 'text'.length - 3
  const { shown, shownChars, truncated } = fitText(raw, budget)
  const body = shown.endsWith('\n') ? shown : shown + '\n'
  return `${truncated ? note(shownChars) : ''}${fence}text\n${body}${fence}\n`
}

function fitText (raw: string, budget: number): { shown: string, shownChars: number, truncated: boolean } {
  let take = Math.min(raw.length, Math.max(0, budget))
  for (;;) {
    const prefix = cut(raw, take)
    const shown = escapeText(prefix)
    if (shown.length <= budget || take === 0) {
      return { shown, shownChars: countCodePoints(prefix), truncated: prefix.length < raw.length }
    }
    take = Math.max(0, take - (shown.length - budget))
  }
}

// Fence content is shown verbatim (it is a proof of concept the team may copy), so only
// what would defeat the intake marker is touched: the marker lookup reads raw Markdown.
function escapeText (text: string): string {
  return breakMarkers(text.replace(/\r\n?/g, '\n').replaceAll('\u0000', '\uFFFD'))
}

// A table cell holding a hostile value: one line, capped, in a code span it cannot close.
// `|` is escaped for the GFM table splitter, which removes the backslash again even inside
// a code span (cmark-gfm unescape_pipes), so the value renders unchanged.
export function code (value: string, max = CELL_MAX): string {
  const v = breakMarkers(cut(singleLine(value), max))
  if (v === '') return '*(empty)*'
  const tick = '`'.repeat(longestRun(v, '`') + 1)
  return `${tick} ${v.replace(/\|/g, '\\|')} ${tick}`
}

function codeList (values: string[]): string {
  return values.length === 0 ? '*(none)*' : values.slice(0, 10).map((v) => code(v, 40)).join(', ')
}

export function mailbox (a: { address: string, name?: string }): string {
  return a.name ? `${a.name} <${a.address}>` : a.address
}

function singleLine (value: string): string {
  return value.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim()
}

// Plain text outside code: break @mentions (`@login`, `@org/team`, `repo@sha`) and
// cross-repository references (`org/repo#1`). A lone `#123` is left alone: it can only
// point into the advisory's own repository and is common in prose ("step #2").
function neutralisePlain (value: string): string {
  return breakMarkers(value
    .replace(/@(?=[A-Za-z0-9])/g, `@${ZWJ}`)
    .replace(/(\/[\w.-]+)#(?=\d)/g, `$1#${ZWJ}`))
}

// No report-derived string may contain an intake marker or anything a looser marker
// search could match, so `<!--` and `intake-id` never appear verbatim.
function breakMarkers (value: string): string {
  return value
    .replace(/<!--/g, `<${ZWJ}!--`)
    .replace(/intake-id/gi, (m) => `${m.slice(0, 6)}${ZWJ}${m.slice(6)}`)
}

/** At most `max` UTF-16 units, never splitting a surrogate pair. */
function cut (value: string, max: number): string {
  if (value.length <= max) return value
  const end = max > 0 && isHighSurrogate(value.charCodeAt(max - 1)) ? max - 1 : max
  return value.slice(0, end)
}

function isHighSurrogate (c: number): boolean {
  return c >= 0xD800 && c <= 0xDBFF
}

// Native regex scanning: this runs over the whole (possibly many-MB) text.
function countCodePoints (value: string): number {
  const pairs = value.match(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g)
  return value.length - (pairs === null ? 0 : pairs.length)
}
