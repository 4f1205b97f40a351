// Just enough of RFC 5322 for the web role: is this a message, and what is its
// Message-ID (for redelivery detection)? The web role never parses the body.
import { limits } from '../limits.js'

const FIELD = /^[!-9;-~]+:/

/** The header block (unfolded lines), or undefined when the bytes do not start like a message. */
export function readHeaderLines (raw: Buffer): string[] | undefined {
  const head = raw.subarray(0, Math.min(raw.length, limits.headerBytes * 4)).toString('latin1')
  const end = head.search(/\r?\n\r?\n/)
  const block = end === -1 ? head : head.slice(0, end)
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
