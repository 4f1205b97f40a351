// Just enough of RFC 5322 for the web role: is this a message, and what is its
// Message-ID (for redelivery detection)? The web role never parses the body.
import { limits } from '../limits.js'

const FIELD = /^[!-9;-~]+:/

/**
 * Where the header block ends and the body begins: at the first empty line (CRLF or
 * bare LF). Without one, the whole message is header and the body is empty.
 */
export function headerBoundary (raw: Buffer): { headerEnd: number, bodyStart: number } {
  for (let nl = raw.indexOf(0x0a); nl !== -1; nl = raw.indexOf(0x0a, nl + 1)) {
    const next = nl + (raw[nl + 1] === 0x0d ? 2 : 1)
    if (raw[next] === 0x0a) return { headerEnd: raw[nl - 1] === 0x0d ? nl - 1 : nl, bodyStart: next + 1 }
  }
  return { headerEnd: raw.length, bodyStart: raw.length }
}

/** The header block (unfolded lines), or undefined when the bytes do not start like a message. */
export function readHeaderLines (raw: Buffer): string[] | undefined {
  const { headerEnd } = headerBoundary(raw.subarray(0, limits.headerBytes * 4))
  const block = raw.subarray(0, headerEnd).toString('latin1')
  const lines: string[] = []
  for (const line of block.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && lines.length > 0) lines[lines.length - 1] += ' ' + line.trim()
    else if (FIELD.test(line)) lines.push(line)
    else if (line.startsWith('From ') && lines.length === 0) continue // mbox "From " line
    else return undefined
  }
  return lines
}

export function headerValue (lines: string[], name: string): string | undefined {
  const prefix = name.toLowerCase() + ':'
  const line = lines.find((l) => l.toLowerCase().startsWith(prefix))
  return line?.slice(prefix.length).trim()
}

/** True when the bytes look like an RFC 5322 message with a From header. */
export function looksLikeMessage (raw: Buffer): boolean {
  const lines = readHeaderLines(raw)
  return lines !== undefined && headerValue(lines, 'from') !== undefined
}

export function messageId (raw: Buffer): string | undefined {
  const lines = readHeaderLines(raw)
  const value = lines && headerValue(lines, 'message-id')
  const match = value?.match(/<([^<>\s]+)>/)
  return match?.[1]?.toLowerCase()
}
