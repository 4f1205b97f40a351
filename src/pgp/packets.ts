// OpenPGP packet framing read without openpgp.js: counting and de-duplicating packets
// costs one pass over the bytes, where openpgp.js would parse every packet and then
// hash the whole signed data once per signature packet (a signature repeated 500
// times over 5 MB took 14 s and 2.5 GB). Signature and key packets never use partial
// or indeterminate lengths (RFC 9580 section 4.2), so such framing is refused here.
import { createHash } from 'node:crypto'

export interface Packet {
  tag: number
  /** The whole packet: header and body. */
  bytes: Uint8Array
  body: Uint8Array
}

/**
 * The packets of `binary`; undefined when the framing is broken or uses partial lengths,
 * and `'too-many'` as soon as there are more than `maxPackets` (25 MB of 2-byte packets
 * would otherwise be 12 million objects before anything is counted).
 */
export function splitPackets (binary: Uint8Array, maxPackets = Infinity): Packet[] | 'too-many' | undefined {
  const packets: Packet[] = []
  for (let at = 0; at < binary.length;) {
    if (packets.length >= maxPackets) return 'too-many'
    const frame = frameAt(binary, at)
    if (frame === undefined || frame.end > binary.length) return undefined
    packets.push({ tag: frame.tag, bytes: binary.subarray(at, frame.end), body: binary.subarray(frame.bodyStart, frame.end) })
    at = frame.end
  }
  return packets
}

interface Frame { tag: number, bodyStart: number, end: number }

function frameAt (b: Uint8Array, at: number): Frame | undefined {
  const first = b[at]
  if (first === undefined || (first & 0x80) === 0) return undefined
  if ((first & 0x40) !== 0) return newFormat(b, at, first & 0x3f)
  const lengthType = first & 0x03
  if (lengthType === 3) return undefined // indeterminate length
  const octets = [1, 2, 4][lengthType] as number
  const length = readLength(b, at + 1, octets)
  return length === undefined ? undefined : { tag: (first & 0x3c) >> 2, bodyStart: at + 1 + octets, end: at + 1 + octets + length }
}

function newFormat (b: Uint8Array, at: number, tag: number): Frame | undefined {
  const l1 = b[at + 1]
  if (l1 === undefined) return undefined
  if (l1 < 192) return { tag, bodyStart: at + 2, end: at + 2 + l1 }
  if (l1 < 224) {
    const l2 = b[at + 2]
    if (l2 === undefined) return undefined
    return { tag, bodyStart: at + 3, end: at + 3 + ((l1 - 192) << 8) + l2 + 192 }
  }
  if (l1 !== 255) return undefined // partial body length
  const length = readLength(b, at + 2, 4)
  return length === undefined ? undefined : { tag, bodyStart: at + 6, end: at + 6 + length }
}

function readLength (b: Uint8Array, at: number, octets: number): number | undefined {
  if (at + octets > b.length) return undefined
  let length = 0
  for (let i = 0; i < octets; i++) length = length * 256 + (b[at + i] as number)
  return length
}

/**
 * What a signature packet signs and proves, without its unhashed subpacket area: that
 * area is not covered by the signature, so a sender can vary it to turn one valid
 * signature into any number of byte-distinct ones that all verify.
 */
export function signatureIdentity (body: Uint8Array): string {
  const hash = createHash('sha256')
  const version = body[0]
  const lengthOctets = version === 4 ? 2 : version === 5 || version === 6 ? 4 : 0
  const hashedEnd = lengthOctets === 0 ? undefined : areaEnd(body, 4, lengthOctets)
  const unhashedEnd = hashedEnd === undefined ? undefined : areaEnd(body, hashedEnd, lengthOctets)
  if (hashedEnd === undefined || unhashedEnd === undefined) return hash.update(body).digest('hex')
  return hash.update(body.subarray(0, hashedEnd)).update(body.subarray(unhashedEnd)).digest('hex')
}

/** End of a subpacket area whose length field starts at `at`; undefined when it overruns. */
function areaEnd (body: Uint8Array, at: number, octets: number): number | undefined {
  const length = readLength(body, at, octets)
  const end = length === undefined ? undefined : at + octets + length
  return end === undefined || end > body.length ? undefined : end
}

/** `items` with later copies of the same signature dropped (see signatureIdentity). */
export function distinctSignatures<T> (items: T[], bodyOf: (item: T) => Uint8Array): T[] {
  const seen = new Set<string>()
  return items.filter((item) => {
    const identity = signatureIdentity(bodyOf(item))
    if (seen.has(identity)) return false
    seen.add(identity)
    return true
  })
}
