// The one module that knows mailparser, so it can be swapped (for PostalMime, say)
// without touching the rest. Everything else sees ParsedEntity.
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser'
import { limits } from '../domain/limits.js'
import { ReportError } from '../domain/errors.js'
import type { Address } from '../domain/report.js'
import { describeStructure, splitMime, type ContentType, type MimeHeader } from './mime-split.js'

/** HTML beyond this is not converted to text (a hostile page can make conversion slow). */
const maxHtmlLengthToParse = 2 * 1024 * 1024

export interface ParsedAttachment {
  filename: string
  contentType: string
  content: Buffer
  size: number
}

export interface ParsedEntity {
  /** Lower-cased name -> unfolded raw value; first occurrence wins. */
  headers: Map<string, string>
  /** Every header in order (Autocrypt needs to see repeated headers). */
  headerList: MimeHeader[]
  contentType: ContentType
  subject?: string
  from?: Address
  replyTo?: Address
  messageId?: string
  references: string[]
  inReplyTo?: string
  date?: Date
  /** Plain text of the body; derived from the HTML when there is no text/plain part. */
  text?: string
  /** True when `text` was converted from HTML rather than taken from a text/plain part. */
  textFromHtml: boolean
  html?: string
  attachments: ParsedAttachment[]
  /** MIME entities in this entity (root included), for a caller's budget over re-parses. */
  partCount: number
}

export interface ParseOptions {
  /** Parts allowed in this entity; defaults to limits.mimeParts. */
  maxParts?: number
  /** Nesting allowed in this entity; defaults to limits.nesting. */
  maxDepth?: number
  /** Read only the header section (the body is opened elsewhere). */
  headersOnly?: boolean
}

export async function parseMime (bytes: Buffer, opts: ParseOptions = {}): Promise<ParsedEntity> {
  const top = splitMime(bytes)
  const source = opts.headersOnly === true ? Buffer.concat([bytes.subarray(0, bytes.length - top.body.length), Buffer.from('\r\n')]) : bytes
  const structure = describeStructure(source, { maxParts: opts.maxParts ?? limits.mimeParts, maxDepth: opts.maxDepth ?? limits.nesting })
  let mail: ParsedMail
  try {
    mail = await simpleParser(source, { maxHtmlLengthToParse, skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true })
  } catch {
    throw new ReportError('unparsable', 'the message is not readable MIME')
  }
  const html = typeof mail.html === 'string' ? mail.html : undefined
  return {
    headers: firstHeaders(top.headers),
    headerList: top.headers,
    contentType: top.contentType,
    ...optional('subject', mail.subject),
    ...optional('from', firstAddress(mail.from)),
    ...optional('replyTo', firstAddress(mail.replyTo)),
    ...optional('messageId', mail.messageId),
    references: toList(mail.references),
    ...optional('inReplyTo', mail.inReplyTo),
    ...optional('date', mail.date),
    ...optional('text', mail.text),
    textFromHtml: html !== undefined && !structure.leafTypes.has('text/plain'),
    ...optional('html', html),
    attachments: mail.attachments.map((attachment, index) => ({
      filename: attachment.filename ?? `attachment-${index + 1}`,
      contentType: attachment.contentType.toLowerCase(),
      content: attachment.content,
      size: attachment.content.length
    })),
    partCount: structure.parts
  }
}

function firstHeaders (list: MimeHeader[]): Map<string, string> {
  const map = new Map<string, string>()
  for (const { name, value } of list) if (!map.has(name)) map.set(name, value)
  return map
}

function firstAddress (field: AddressObject | undefined): Address | undefined {
  const first = field?.value.find((entry) => entry.address !== undefined && entry.address !== '')
  if (first?.address === undefined) return undefined
  return first.name === '' ? { address: first.address } : { address: first.address, name: first.name }
}

function toList (value: string | string[] | undefined): string[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}

/** `{ key: value }` only when the value is present (keeps optional fields absent, not undefined). */
function optional<K extends string, V> (key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }
}
