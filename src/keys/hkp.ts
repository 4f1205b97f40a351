// HKP (draft-ietf-openpgp-hkp / draft-gallagher-openpgp-hkp): the keyserver protocol
// `gpg --recv-keys` and `gpg --search-keys` speak. Only our own published keys are here;
// it answers lookups, never accepts uploads.
import type { PublishedKey } from './published.js'

/** The keyserver URL of our own site for `gpg --keyserver`: hkps on https (port 443), hkp otherwise. */
export function keyserverUrl (publicUrl: string): string {
  const url = new URL(publicUrl)
  return url.protocol === 'https:' ? `hkps://${url.host}` : `hkp://${url.host}`
}

export type HkpSearch =
  | { kind: 'fingerprint', hex: string }
  | { kind: 'keyid', hex: string }
  | { kind: 'email', address: string }

/** `0x` + 16 or 40 hex digits, or an address (optionally in <>); anything else is no search we serve. */
export function parseSearch (search: string): HkpSearch | undefined {
  const value = search.trim()
  if (value.length > 320) return undefined
  const hex = /^0x([0-9a-f]+)$/i.exec(value)?.[1]
  if (hex !== undefined) {
    if (hex.length === 40) return { kind: 'fingerprint', hex: hex.toUpperCase() }
    if (hex.length === 16) return { kind: 'keyid', hex: hex.toUpperCase() }
    return undefined // short (32-bit) ids collide by design: not answered
  }
  if (/^[0-9a-f]{40}$/i.test(value)) return { kind: 'fingerprint', hex: value.toUpperCase() }
  const address = value.replace(/^<(.*)>$/, '$1').toLowerCase()
  if (/^[^\s@<>]+@[^\s@<>]+$/.test(address)) return { kind: 'email', address }
  return undefined
}

export function matchKeys (keys: PublishedKey[], search: HkpSearch): PublishedKey[] {
  return keys.filter((k) => {
    if (search.kind === 'fingerprint') return k.fingerprint === search.hex
    if (search.kind === 'keyid') return k.keyIds.includes(search.hex)
    return k.emails.includes(search.address)
  })
}

const ALGORITHM_IDS: Record<string, number> = { rsaEncryptSign: 1, rsaSign: 3, dsa: 17, ecdh: 18, ecdsa: 19, eddsaLegacy: 22, ed25519: 27, ed448: 28 }

/** The machine-readable index (`op=index&options=mr`, draft section 5.2). */
export function machineReadableIndex (keys: PublishedKey[]): string {
  const lines = [`info:1:${keys.length}`]
  for (const k of keys) {
    const info = k.key.getAlgorithmInfo()
    const algo = ALGORITHM_IDS[info.algorithm] ?? ''
    const bits = info.bits ?? ''
    lines.push(`pub:${k.fingerprint}:${algo}:${bits}:${seconds(k.created)}:${k.expires === undefined ? '' : seconds(k.expires)}:`)
    for (const uid of k.userIds) lines.push(`uid:${escapeUid(uid)}:${seconds(k.created)}::`)
  }
  return lines.join('\n') + '\n'
}

function seconds (date: Date): number {
  return Math.floor(date.getTime() / 1000)
}

/** Percent-escape ':', '%' and anything outside printable ASCII, as the draft requires. */
function escapeUid (uid: string): string {
  return [...Buffer.from(uid, 'utf8')].map((b) => b === 0x3a || b === 0x25 || b < 0x20 || b > 0x7e ? `%${b.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(b)).join('')
}
