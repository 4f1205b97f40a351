// Web Key Directory (draft-koch-openpgp-webkey-service): where a mail client looks for
// the key of `local@domain` without asking anyone. The path names the local part by the
// z-base-32 encoded SHA-1 of its lower-cased form.
import { createHash } from 'node:crypto'

const ZBASE32 = 'ybndrfg8ejkmcpqxot1uwisza345h769'

/** z-base-32 (the human-oriented base-32 of the WKD draft), most significant bit first. */
export function zBase32 (bytes: Uint8Array): string {
  let out = ''
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += ZBASE32[(buffer >>> (bits - 5)) & 31]
      bits -= 5
    }
    buffer &= (1 << bits) - 1
  }
  if (bits > 0) out += ZBASE32[(buffer << (5 - bits)) & 31]
  return out
}

/**
 * The 32-character WKD hash of an address's local part. GnuPG lower-cases ASCII only
 * (the draft: "mapped to lowercase", and non-ASCII local parts are not case-folded).
 */
export function wkdHash (address: string): string {
  const at = address.lastIndexOf('@')
  const local = at < 0 ? address : address.slice(0, at)
  const lowered = local.replace(/[A-Z]/g, (c) => c.toLowerCase())
  return zBase32(createHash('sha1').update(lowered, 'utf8').digest())
}

/** The domain part, lower-cased: the WKD domain of an address. */
export function wkdDomain (address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase()
}
