// Just enough of RFC 5322 for the web role (Message-ID for redelivery detection, To/Cc
// for the recipient filter, verdict headers) and for the worker's first look. Tolerant,
// because a message is never refused for its content: malformed lines are skipped, a
// missing blank line is assumed before the first line that cannot be header, bare LF is
// a line end. One linear pass, and no line is read past the header block limit.
import { limits } from '../domain/limits.js'

/** The largest header block taken (the worker's splitter allows more per entity). */
export const MAX_HEADER_BLOCK = limits.headerBytes * 4

export interface HeaderBoundary {
  headerEnd: number
  bodyStart: number
  /** False when no empty line ended the header: it ends at the first line that cannot be header. */
  blankLine: boolean
}

/**
 * Where the header block ends and the body begins: at the first empty line (CRLF or
 * bare LF) within the header limit. Without one, before the first line that is neither
 * a field, a folded continuation nor a leading mbox "From " line (MTAs that forget the
 * blank line put the body right there); without that either, the whole message is
 * header (too large, past the limit). Reads at most MAX_HEADER_BLOCK bytes or so.
 */
export function headerBoundary (raw: Buffer): HeaderBoundary {
  const blank = firstBlankLine(raw.subarray(0, MAX_HEADER_BLOCK + 3))
  if (blank !== undefined) return { ...blank, blankLine: true }
  const odd = firstNonHeaderLine(raw)
  return { headerEnd: odd, bodyStart: odd, blankLine: false }
}

function firstBlankLine (raw: Buffer): { headerEnd: number, bodyStart: number } | undefined {
  if (raw[0] === 0x0a) return { headerEnd: 0, bodyStart: 1 }
  if (raw[0] === 0x0d && raw[1] === 0x0a) return { headerEnd: 0, bodyStart: 2 }
  const lf = raw.indexOf('\n\n')
  const crlf = raw.subarray(0, lf === -1 ? raw.length : lf + 3).indexOf('\n\r\n')
  const nl = crlf !== -1 && (lf === -1 || crlf < lf) ? crlf : lf
  if (nl === -1) return undefined
  return { headerEnd: raw[nl - 1] === 0x0d ? nl - 1 : nl, bodyStart: nl + (nl === crlf ? 3 : 2) }
}

/** Past MAX_HEADER_BLOCK the answer no longer matters (too large either way): not read. */
function firstNonHeaderLine (raw: Buffer): number {
  const limit = Math.min(raw.length, MAX_HEADER_BLOCK + 1)
  for (let pos = 0; pos < limit;) {
    const nl = raw.indexOf(0x0a, pos)
    const end = nl === -1 ? raw.length : nl
    if (!isFieldStart(raw, pos, end) && !isContinuation(raw, pos) && !(pos === 0 && isMboxFrom(raw))) return pos
    pos = end + 1
  }
  return raw.length
}

/** `name:` with a name of printable ASCII but ':' (RFC 5322 ftext). Stops at the first other byte. */
function isFieldStart (raw: Buffer, pos: number, end: number): boolean {
  // A field name fits in a line (RFC 5322: 998 characters): a 40 MB first line without
  // a colon is not read to its end, several times per request.
  for (let i = pos, stop = Math.min(end, pos + 998); i < stop; i++) {
    const c = raw[i] as number
    if (c === 0x3a) return i > pos
    if (c < 0x21 || c > 0x7e) return false
  }
  return false
}

function isContinuation (raw: Buffer, pos: number): boolean {
  return pos > 0 && (raw[pos] === 0x20 || raw[pos] === 0x09)
}

function isMboxFrom (raw: Buffer): boolean {
  return raw.toString('latin1', 0, 5) === 'From '
}

/** True when the header block is beyond what is taken (answered 413: too large). */
export function headerTooLarge (raw: Buffer): boolean {
  return headerBoundary(raw).headerEnd > MAX_HEADER_BLOCK
}

/**
 * The header fields, unfolded, in order. Malformed lines (a field name with a space, a
 * stray line) are skipped with their continuations; the rest is still read. Only the
 * first MAX_HEADER_BLOCK bytes are looked at.
 */
export function readHeaderLines (message: Buffer): string[] {
  const end = Math.min(headerBoundary(message).headerEnd, MAX_HEADER_BLOCK)
  const raw = message.subarray(0, end)
  const lines: string[] = []
  let keep = false // the last field line was kept, so its continuations are too
  for (let pos = 0; pos < end;) {
    const nl = raw.indexOf(0x0a, pos)
    const lineEnd = nl === -1 || nl > end ? end : nl
    const text = raw.toString('latin1', pos, lineEnd > pos && raw[lineEnd - 1] === 0x0d ? lineEnd - 1 : lineEnd)
    if (isContinuation(raw, pos)) {
      if (keep && lines.length > 0) lines[lines.length - 1] += ' ' + text.trim()
    } else {
      keep = isFieldStart(raw, pos, lineEnd)
      if (keep) lines.push(text)
    }
    pos = lineEnd + 1
  }
  return lines
}

export function headerValue (lines: string[], name: string): string | undefined {
  const prefix = name.toLowerCase() + ':'
  const line = lines.find((l) => l.toLowerCase().startsWith(prefix))
  return line?.slice(prefix.length).trim()
}

export function messageId (raw: Buffer): string | undefined {
  const value = headerValue(readHeaderLines(raw), 'message-id')
  const match = value?.match(/<([^<>\s]+)>/)
  return match?.[1]?.toLowerCase()
}
