// An armored PGP MESSAGE decoded with Node's native base64, into one buffer. openpgp.js
// turns the armor into a JS string first and decodes it in JS, in chunks it then joins:
// for a 25 MB report that is the armor held twice more and most of the decode time.
// Only the plain shape is read here (the armor first, header lines, a blank line, base64
// lines, an optional checksum, the end line, nothing after); anything else returns
// undefined and openpgp.js reads it, so no message is refused here that it would take.
// The CRC-24 checksum is not checked, as openpgp.js 6 does not: the encrypted packet's
// own integrity check (MDC or AEAD) covers the data.

const BEGIN = Buffer.from('-----BEGIN PGP MESSAGE-----')
const END = Buffer.from('-----END PGP MESSAGE-----')
/** openpgp.js's armor marker line ("-----BEGIN ...-----"), as it tests each line. */
const MARKER = /^-----[^-]+-----$/

/** An armor openpgp.js would refuse as well (not a shape left to it). */
export class ArmorError extends Error {
  override name = 'ArmorError'
}

/** Base64 characters decoded per step (a multiple of 4): a small string at a time, never the whole armor. */
const STEP = 1 << 20

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a || c === 0x0c
const isBase64 = (c: number): boolean =>
  (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f

/**
 * The packets of an armored `PGP MESSAGE`, or undefined when it is not in the plain shape.
 * Throws ArmorError for an armor without the blank line after its headers.
 */
export function dearmorMessage (input: Uint8Array | string): Buffer | undefined {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  let at = 0
  while (at < bytes.length && isSpace(bytes[at] as number)) at++
  if (!bytes.subarray(at, at + BEGIN.length).equals(BEGIN)) return undefined
  at = endOfLine(bytes, at + BEGIN.length)
  if (at < 0) return undefined
  // Armor headers (Version, Comment, ...) up to the mandatory blank line. Without one,
  // openpgp.js refuses the armor too, but only after its line reader has walked it
  // (~10 s for 17 MiB of header lines): refused here at once.
  for (;;) {
    const next = nextLine(bytes, at)
    if (next === undefined) throw new ArmorError('the armor ends inside its header lines')
    if (blank(bytes, at, next.end)) { at = next.start; break }
    if (bytes[at] === 0x2d && MARKER.test(bytes.toString('latin1', at, Math.min(next.end, at + 80)).replace(/[\r \t]+$/, ''))) throw new ArmorError('no blank line between the armor headers and the data')
    at = next.start
  }
  const end = bytes.lastIndexOf(END)
  if (end < at || bytes[end - 1] !== 0x0a) return undefined // the end line is a line of its own
  if (endOfLine(bytes, end + END.length, true) < 0) return undefined
  return decodeBody(bytes, at, end)
}

/** Base64 lines from `start` to the end line at `end`: whitespace skipped, an `=XXXX` checksum line dropped. */
function decodeBody (bytes: Buffer, start: number, end: number): Buffer | undefined {
  const compact = Buffer.allocUnsafeSlow(end - start)
  let n = 0
  let padding = 0
  for (let i = start; i < end; i++) {
    const c = bytes[i] as number
    if (isBase64(c)) {
      if (padding > 0) return undefined // data after "=" padding
      compact[n++] = c
    } else if (c === 0x3d) {
      // "=" ends the data: padding at the end of the last data line, or the checksum line.
      const lineStart = i === start || bytes[i - 1] === 0x0a
      if (lineStart) {
        if (!checksumLine(bytes, i, end)) return undefined
        break
      }
      if (++padding > 2) return undefined
      compact[n++] = c
    } else if (!isSpace(c)) {
      return undefined
    }
  }
  if (n % 4 !== 0) return undefined
  // Decoded in place: the output (3/4 of the input) never overtakes what is still to read.
  let out = 0
  for (let i = 0; i < n; i += STEP) {
    const chunk = compact.toString('latin1', i, Math.min(i + STEP, n))
    out += compact.write(chunk, out, 'base64')
  }
  return compact.subarray(0, out)
}

/** `=` + 4 base64 characters, then only whitespace up to the end line. */
function checksumLine (bytes: Buffer, at: number, end: number): boolean {
  for (let k = 1; k <= 4; k++) if (!isBase64(bytes[at + k] as number)) return false
  for (let k = at + 5; k < end; k++) if (!isSpace(bytes[k] as number)) return false
  return true
}

/** After a marker: optional spaces, then a line end (or, with `last`, only whitespace to the end). Returns the next line's start. */
function endOfLine (bytes: Buffer, at: number, last = false): number {
  let i = at
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0d)) i++
  if (last) {
    for (; i < bytes.length; i++) if (!isSpace(bytes[i] as number)) return -1
    return i
  }
  return bytes[i] === 0x0a ? i + 1 : -1
}

function nextLine (bytes: Buffer, at: number): { end: number, start: number } | undefined {
  const lf = bytes.indexOf(0x0a, at)
  return lf < 0 ? undefined : { end: lf, start: lf + 1 }
}

function blank (bytes: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isSpace(bytes[i] as number)) return false
  return true
}
