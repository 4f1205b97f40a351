// A minimal MIME splitter for what mailparser cannot give: the exact raw bytes of each
// part of a multipart entity (RFC 3156 signatures cover the first part's raw bytes) and
// a cheap structure walk to count parts before anything is decoded.
import { ReportError } from '../domain/errors.js'

/** Above this a header section is not mail (mailparser also fails at 1 MiB per node). */
const maxHeaderSectionBytes = 1024 * 1024

export interface MimeHeader {
  /** Lower-cased. */
  name: string
  /** Unfolded, trimmed; encoded-words are left as they are. */
  value: string
}

export interface ContentType {
  /** Lower-cased `type/subtype`; `text/plain` when absent or unreadable (RFC 2045 5.2). */
  type: string
  /** Lower-cased parameter names; values unquoted. */
  params: Record<string, string>
}

export interface MimeEntity {
  headers: MimeHeader[]
  contentType: ContentType
  /** Lower-cased Content-Transfer-Encoding, `7bit` when absent. */
  transferEncoding: string
  /** The raw body, still transfer-encoded. */
  body: Buffer
  /** For multipart entities: each part's exact raw bytes (headers + body). */
  parts: Buffer[]
}

export function splitMime (raw: Buffer): MimeEntity {
  const { headerBytes, body } = splitHeaderSection(raw)
  const headers = parseHeaders(headerBytes)
  const contentType = parseContentType(headerValue(headers, 'content-type'))
  const transferEncoding = (headerValue(headers, 'content-transfer-encoding') ?? '7bit').trim().toLowerCase()
  const boundary = contentType.params.boundary
  const parts = contentType.type.startsWith('multipart/') && boundary !== undefined && boundary !== ''
    ? splitMultipart(body, boundary)
    : []
  return { headers, contentType, transferEncoding, body, parts }
}

export function headerValue (headers: MimeHeader[], name: string): string | undefined {
  return headers.find((header) => header.name === name)?.value
}

/** Header section and body, split at the first empty line (CRLF or bare LF). */
function splitHeaderSection (raw: Buffer): { headerBytes: Buffer, body: Buffer } {
  if (raw[0] === 0x0a) return { headerBytes: raw.subarray(0, 0), body: raw.subarray(1) }
  if (raw[0] === 0x0d && raw[1] === 0x0a) return { headerBytes: raw.subarray(0, 0), body: raw.subarray(2) }
  let lineStart = 0
  while (lineStart < raw.length) {
    const lineEnd = raw.indexOf(0x0a, lineStart)
    if (lineEnd === -1) break
    const next = lineEnd + 1
    const blank = raw[next] === 0x0a ? 1 : raw[next] === 0x0d && raw[next + 1] === 0x0a ? 2 : 0
    if (blank > 0) return checked(raw.subarray(0, next), raw.subarray(next + blank))
    lineStart = next
  }
  return checked(raw, raw.subarray(raw.length))
}

function checked (headerBytes: Buffer, body: Buffer): { headerBytes: Buffer, body: Buffer } {
  if (headerBytes.length > maxHeaderSectionBytes) throw new ReportError('too-large', 'a MIME header section is larger than 1 MiB')
  return { headerBytes, body }
}

function parseHeaders (headerBytes: Buffer): MimeHeader[] {
  const unfolded = headerBytes.toString('utf8').replace(/\r?\n(?=[ \t])/g, '')
  const headers: MimeHeader[] = []
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    headers.push({ name: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() })
  }
  return headers
}

/** `type/subtype; name=value; name="quoted; value"` (RFC 2045), with RFC 2231 continuations. */
export function parseContentType (value: string | undefined): ContentType {
  const fallback: ContentType = { type: 'text/plain', params: {} }
  if (value === undefined) return fallback
  const [typePart = '', ...rest] = splitParams(value)
  const type = typePart.trim().toLowerCase()
  if (!/^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/.test(type)) return fallback
  const params: Record<string, string> = {}
  const continued: Record<string, string[]> = {}
  for (const param of rest) {
    const equals = param.indexOf('=')
    if (equals <= 0) continue
    const name = param.slice(0, equals).trim().toLowerCase()
    const unquoted = unquote(param.slice(equals + 1).trim())
    const continuation = /^(.+)\*(\d+)\*?$/.exec(name)
    if (continuation !== null) {
      const list = (continued[continuation[1] as string] ??= [])
      list[Number(continuation[2])] = unquoted
    } else if (!(name in params)) {
      params[name] = unquoted
    }
  }
  for (const [name, pieces] of Object.entries(continued)) params[name] ??= pieces.join('')
  return { type, params }
}

/** Split at semicolons outside quoted strings. */
function splitParams (value: string): string[] {
  const pieces: string[] = []
  let current = ''
  let quoted = false
  for (let i = 0; i < value.length; i++) {
    const char = value[i] as string
    if (quoted && char === '\\' && i + 1 < value.length) {
      current += char + (value[++i] as string)
      continue
    }
    if (char === '"') quoted = !quoted
    if (char === ';' && !quoted) {
      pieces.push(current)
      current = ''
    } else {
      current += char
    }
  }
  pieces.push(current)
  return pieces
}

function unquote (value: string): string {
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) return value.slice(1, -1).replace(/\\(.)/g, '$1')
  return value
}

/**
 * Parts between `--boundary` delimiter lines (RFC 2046 5.1.1). The line break before a
 * delimiter belongs to the delimiter, so it is not part of the preceding part; the
 * preamble and epilogue are dropped. Delimiter lines may carry trailing whitespace.
 */
export function splitMultipart (body: Buffer, boundary: string): Buffer[] {
  const dash = Buffer.from(`--${boundary}`, 'latin1')
  const parts: Buffer[] = []
  let partStart = -1
  let lineStart = 0
  while (lineStart <= body.length) {
    const newline = body.indexOf(0x0a, lineStart)
    const lineEnd = newline === -1 ? body.length : newline
    const kind = delimiterKind(body, lineStart, lineEnd, dash)
    if (kind !== undefined) {
      if (partStart !== -1) parts.push(body.subarray(partStart, lineBreakStart(body, lineStart, partStart)))
      if (kind === 'close') return parts
      partStart = newline === -1 ? body.length : newline + 1
    }
    if (newline === -1) break
    lineStart = newline + 1
  }
  // No close delimiter: keep what was opened, as mail clients do.
  if (partStart !== -1 && partStart < body.length) parts.push(body.subarray(partStart))
  return parts
}

function delimiterKind (body: Buffer, lineStart: number, lineEnd: number, dash: Buffer): 'open' | 'close' | undefined {
  if (lineEnd - lineStart < dash.length || body.compare(dash, 0, dash.length, lineStart, lineStart + dash.length) !== 0) return undefined
  let i = lineStart + dash.length
  let kind: 'open' | 'close' = 'open'
  if (body[i] === 0x2d && body[i + 1] === 0x2d) {
    kind = 'close'
    i += 2
  }
  for (; i < lineEnd; i++) {
    const byte = body[i]
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) return undefined
  }
  return kind
}

/** Where the line break preceding `lineStart` begins (CRLF or LF), not before `floor`. */
function lineBreakStart (body: Buffer, lineStart: number, floor: number): number {
  let end = lineStart
  if (end > floor && body[end - 1] === 0x0a) end--
  if (end > floor && body[end - 1] === 0x0d) end--
  return end
}

/** Decode the body's Content-Transfer-Encoding (base64, quoted-printable; others as is). */
export function decodeBody (entity: Pick<MimeEntity, 'body' | 'transferEncoding'>): Buffer {
  if (entity.transferEncoding === 'base64') return Buffer.from(entity.body.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64')
  if (entity.transferEncoding === 'quoted-printable') return decodeQuotedPrintable(entity.body)
  return entity.body
}

function decodeQuotedPrintable (body: Buffer): Buffer {
  const text = withoutTrailingBlanks(body.toString('latin1')).replace(/=\r?\n/g, '')
  const out = Buffer.alloc(text.length)
  let length = 0
  for (let i = 0; i < text.length; i++) {
    const hex = text[i] === '=' ? text.slice(i + 1, i + 3) : ''
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      out[length++] = parseInt(hex, 16)
      i += 2
    } else {
      out[length++] = text.charCodeAt(i)
    }
  }
  return out.subarray(0, length)
}

/**
 * Spaces and tabs before each line break removed (RFC 2045 6.7 rule 3), in one linear
 * pass: the lookahead regex this replaces backtracked quadratically over long runs of
 * blanks, which a sender controls.
 */
function withoutTrailingBlanks (text: string): string {
  const lines = text.split('\n')
  for (let i = 0; i < lines.length - 1; i++) lines[i] = trimBlanksBeforeBreak(lines[i] as string)
  return lines.join('\n')
}

/** A line's trailing blanks, or those before its final CR (the CR belongs to the break). */
function trimBlanksBeforeBreak (line: string): string {
  const cr = line.endsWith('\r') ? 1 : 0
  let end = line.length - cr
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--
  return end === line.length - cr ? line : line.slice(0, end) + (cr === 1 ? '\r' : '')
}

/** Bare LF (and lone CR) line ends to CRLF, as RFC 3156 signatures are computed over. */
export function toCrlf (bytes: Buffer): Buffer {
  return Buffer.from(bytes.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1')
}

export interface Structure {
  /** Entities in the tree, the root included. */
  parts: number
  /** Lower-cased content types of the leaves. */
  leafTypes: Set<string>
}

/**
 * Walk the whole tree (multiparts and attached messages), counting entities. Throws
 * 'too-large' as soon as `maxParts` or `maxDepth` is passed, before mailparser or any
 * decoder sees the input.
 */
export function describeStructure (raw: Buffer, limits: { maxParts: number, maxDepth: number }): Structure {
  const structure: Structure = { parts: 0, leafTypes: new Set() }
  walk(raw, 0, limits, structure)
  return structure
}

function walk (raw: Buffer, depth: number, limits: { maxParts: number, maxDepth: number }, structure: Structure): void {
  if (depth > limits.maxDepth) throw new ReportError('too-large', `MIME entities are nested more than ${limits.maxDepth} deep`)
  if (++structure.parts > limits.maxParts) throw new ReportError('too-large', `the message has more than ${limits.maxParts} MIME parts`)
  const entity = splitMime(raw)
  if (entity.contentType.type.startsWith('multipart/')) {
    for (const part of entity.parts) walk(part, depth + 1, limits, structure)
  } else if (entity.contentType.type === 'message/rfc822') {
    walk(decodeBody(entity), depth + 1, limits, structure)
  } else {
    structure.leafTypes.add(entity.contentType.type)
  }
}

/** An RFC 3156 multipart/signed entity: the signed part's and the signature part's raw bytes. */
export interface PgpSignedEntity {
  signed: Buffer
  signaturePart: Buffer
}

export function isPgpSigned (entity: MimeEntity): boolean {
  return entity.contentType.type === 'multipart/signed' && entity.parts.length >= 2 &&
    entity.contentType.params.protocol?.toLowerCase() === 'application/pgp-signature'
}

/**
 * The PGP multipart/signed entities below a multipart one (not the entity itself), in
 * document order. It does not look inside them (their signature covers what they hold)
 * nor into attached messages (a forwarded message's signature is its sender's, not the
 * reporter's). `maxDepth` bounds the walk as describeStructure does.
 */
export function findPgpSigned (entity: MimeEntity, maxDepth: number): PgpSignedEntity[] {
  const found: PgpSignedEntity[] = []
  collectPgpSigned(entity, 0, maxDepth, found)
  return found
}

function collectPgpSigned (entity: MimeEntity, depth: number, maxDepth: number, found: PgpSignedEntity[]): void {
  if (depth >= maxDepth && entity.parts.length > 0) throw new ReportError('too-large', `MIME entities are nested more than ${maxDepth} deep`)
  for (const raw of entity.parts) {
    const part = splitMime(raw)
    if (isPgpSigned(part)) found.push({ signed: part.parts[0] as Buffer, signaturePart: part.parts[1] as Buffer })
    else if (part.contentType.type.startsWith('multipart/')) collectPgpSigned(part, depth + 1, maxDepth, found)
  }
}
