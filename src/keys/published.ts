// Which public keys the gateway publishes, read from KEYS_DIR (committed, armored). One
// rule for every route (pgp-key.asc, WKD, HKP, security.txt, the key reply):
//   - a key that is expired, revoked, invalid, v6 (GnuPG cannot use it), without a usable
//     encryption subkey or found in a file holding secret key material is refused, never
//     published;
//   - of the valid ones, the newest (creation time) is the *primary* key: the one named by
//     fingerprint (security.txt, the human page, Autocrypt, the key reply) and served by WKD;
//   - older valid keys still in KEYS_DIR are *retiring*: published beside the primary in
//     /pgp-key.asc and HKP until they expire, so mail encrypted to them keeps arriving
//     (the worker decrypts with every configured secret key). Remove the file to stop.
// This is how the contract's "the first is published" reads: keys are ordered newest
// first, so the first is the newest valid one.
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { armor, enums, readKeys, type PublicKey } from 'openpgp'
import { pgpConfig } from '../pgp/openpgp-config.js'
import { DEV_PUBLIC_KEY_FILE } from '../domain/dev-key.js'

export interface PublishedKey {
  key: PublicKey
  /** Upper-case hex. */
  fingerprint: string
  /** Upper-case hex key IDs of the primary key and every subkey. */
  keyIds: string[]
  role: 'primary' | 'retiring'
  created: Date
  /** undefined: never expires. */
  expires?: Date
  /** Lower-case addresses of the key's valid user IDs. */
  emails: string[]
  userIds: string[]
  algorithm: string
  binary: Uint8Array
  armored: string
  /** The throw-away development key (never published in production). */
  development: boolean
  file: string
}

interface RefusedKey {
  file: string
  fingerprint?: string
  reason: string
}

export interface Publication {
  /** Primary first, then retiring keys, newest first. */
  keys: PublishedKey[]
  primary?: PublishedKey
  refused: RefusedKey[]
  /** All published keys in one armored block (primary first); '' when there are none. */
  armored: string
}

export interface KeySourceOptions {
  keysDir: string
  production: boolean
  /** How long a loaded publication is reused before KEYS_DIR is read again. */
  ttlMs?: number
  now?: () => Date
}

export interface KeySource {
  get: () => Promise<Publication>
}

const MAX_FILES = 32
const MAX_FILE_BYTES = 256 * 1024
const MAX_KEYS_PER_FILE = 8
const DAY_MS = 86_400_000

/**
 * KEYS_DIR, re-read at most every `ttlMs`: in development the worker writes the dev key
 * there after the web role has started, and an operator rotating keys should not have
 * to restart the web role.
 */
export function createKeySource (opts: KeySourceOptions): KeySource {
  const ttl = opts.ttlMs ?? 5000
  const now = opts.now ?? (() => new Date())
  let cached: { at: number, value: Promise<Publication> } | undefined
  return {
    async get () {
      const t = Date.now()
      if (cached === undefined || t - cached.at > ttl) {
        const value = loadPublication(opts.keysDir, { production: opts.production, now: now() })
        const entry = { at: t, value }
        cached = entry
        // A failed read, or no key yet (the worker may be about to write the dev key), is not kept.
        value.then((pub) => { if (pub.primary === undefined && cached === entry) cached = undefined }, () => { if (cached === entry) cached = undefined })
      }
      return await cached.value
    }
  }
}

export async function loadPublication (keysDir: string, opts: { production: boolean, now?: Date }): Promise<Publication> {
  const now = opts.now ?? new Date()
  const refused: RefusedKey[] = []
  const valid: Array<Omit<PublishedKey, 'role'>> = []
  const seen = new Set<string>()
  for (const file of (await keyFiles(keysDir)).slice(0, MAX_FILES)) {
    const development = file === DEV_PUBLIC_KEY_FILE
    if (development && opts.production) {
      refused.push({ file, reason: 'development key (never published in production)' })
      continue
    }
    const text = await readBounded(join(keysDir, file))
    if (text === undefined) { refused.push({ file, reason: `unreadable or larger than ${MAX_FILE_BYTES} bytes` }); continue }
    if (/-----BEGIN PGP PRIVATE KEY BLOCK-----/.test(text)) { refused.push({ file, reason: 'holds secret key material: keys/ is for public keys only' }); continue }
    let keys
    try {
      keys = await readKeys({ armoredKeys: text, config: pgpConfig() })
    } catch {
      refused.push({ file, reason: 'not an armored OpenPGP public key' })
      continue
    }
    for (const key of keys.slice(0, MAX_KEYS_PER_FILE)) {
      const fingerprint = key.getFingerprint().toUpperCase()
      if (seen.has(fingerprint)) continue
      seen.add(fingerprint)
      const problem = await whyNotPublishable(key as PublicKey, now)
      if (problem !== undefined) { refused.push({ file, fingerprint, reason: problem }); continue }
      valid.push(await describe(key as PublicKey, file, development, now))
    }
  }
  valid.sort((a, b) => b.created.getTime() - a.created.getTime())
  const keys: PublishedKey[] = valid.map((k, i) => ({ ...k, role: i === 0 ? 'primary' : 'retiring' }))
  const primary = keys[0]
  return {
    keys,
    ...(primary === undefined ? {} : { primary }),
    refused,
    armored: keys.length === 0 ? '' : armorKeys(keys.map((k) => k.binary))
  }
}

async function keyFiles (dir: string): Promise<string[]> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw err
  }
  // Secret files of the dev key (and any `*.secret.asc` an operator drops here) are never read.
  return names.filter((n) => n.endsWith('.asc') && !n.endsWith('.secret.asc') && !n.startsWith('.')).sort()
}

async function readBounded (path: string): Promise<string | undefined> {
  try {
    const info = await stat(path)
    if (!info.isFile() || info.size > MAX_FILE_BYTES) return undefined
    return await readFile(path, 'utf8')
  } catch {
    return undefined
  }
}

/** Why this key must not be published, or undefined when it may. */
async function whyNotPublishable (key: PublicKey, now: Date): Promise<string | undefined> {
  if (key.isPrivate()) return 'secret key'
  if (key.keyPacket.version !== 4) return `v${key.keyPacket.version} key: GnuPG 2.2/2.4 cannot use it (publish a v4 key)`
  if (await key.isRevoked(undefined, undefined, now, pgpConfig()).catch(() => false)) return 'revoked'
  const expires = await expiryOf(key, now)
  if (expires !== undefined && expires.getTime() <= now.getTime()) return `expired on ${expires.toISOString()}`
  try {
    await key.verifyPrimaryKey(now, undefined, pgpConfig())
  } catch (err) {
    return `not valid: ${(err as Error).message.slice(0, 200)}`
  }
  try {
    await key.getEncryptionKey(undefined, now, undefined, pgpConfig())
  } catch {
    return 'no valid encryption subkey'
  }
  return undefined
}

/**
 * When the key stops being usable to write to us: the primary key's expiry, or earlier
 * when every valid encryption subkey expires before it (short-lived subkeys under a
 * long-lived primary are common practice). openpgp's getExpirationTime reads the primary
 * only, which would let security.txt's Expires and the 30-day warning outlive the subkey.
 */
export async function expiryOf (key: PublicKey, now = new Date()): Promise<Date | undefined> {
  const value = await key.getExpirationTime(undefined, pgpConfig()).catch(() => null)
  const primary = value instanceof Date ? value.getTime() : Infinity
  let subkeys: number | undefined // the latest expiry of a valid encryption subkey
  for (const sub of key.subkeys) {
    const usable = await key.getEncryptionKey(sub.getKeyID(), now, undefined, pgpConfig()).then(() => true, () => false)
    if (!usable) continue
    const until = await sub.getExpirationTime(now, pgpConfig()).catch(() => null)
    if (until === null) continue
    subkeys = Math.max(subkeys ?? -Infinity, until instanceof Date ? until.getTime() : Infinity)
  }
  const at = Math.min(primary, subkeys ?? Infinity)
  return Number.isFinite(at) ? new Date(at) : undefined
}

async function describe (key: PublicKey, file: string, development: boolean, now: Date): Promise<Omit<PublishedKey, 'role'>> {
  const expires = await expiryOf(key, now)
  const users = []
  for (const user of key.users) {
    if (user.userID === null) continue
    const ok = await user.verify(undefined, pgpConfig()).then(() => true, () => false)
    if (ok) users.push(user.userID)
  }
  const info = key.getAlgorithmInfo()
  return {
    key,
    fingerprint: key.getFingerprint().toUpperCase(),
    keyIds: key.getKeyIDs().map((id) => id.toHex().toUpperCase()),
    created: key.getCreationTime(),
    ...(expires === undefined ? {} : { expires }),
    emails: [...new Set(users.map((u) => u.email.toLowerCase()).filter((e) => e !== ''))],
    userIds: users.map((u) => u.userID),
    algorithm: algorithmName(info),
    binary: key.write(),
    armored: key.armor(pgpConfig()),
    development,
    file
  }
}

function algorithmName (info: { algorithm: string, bits?: number, curve?: string }): string {
  if (info.curve !== undefined) return `${info.algorithm} (${info.curve})`
  return info.bits === undefined ? info.algorithm : `${info.algorithm} ${info.bits}`
}

/** Several transferable public keys in one armored block: what `gpg --export -a a b` makes. */
export function armorKeys (binaries: Uint8Array[]): string {
  // With the CRC line: GnuPG 2.2 reads on past the base64 into "-----END" (and fails)
  // when the data needs no "=" padding to mark its end, one block length in three.
  return armor(enums.armor.publicKey, Buffer.concat(binaries), undefined, undefined, undefined, true, pgpConfig())
}

/** Warnings an operator must see at start: keys refused, and a primary key close to expiry. */
export function publicationWarnings (pub: Publication, now = new Date()): string[] {
  const out = pub.refused.map((r) => `not publishing ${r.fingerprint ?? r.file} (${r.file}): ${r.reason}`)
  if (pub.primary === undefined) out.push('no publishable team key in KEYS_DIR: /pgp-key.asc, WKD, HKP and security.txt answer 404/503')
  for (const k of pub.keys) {
    if (k.expires !== undefined && k.expires.getTime() - now.getTime() < 30 * DAY_MS) {
      out.push(`${k.role} key ${k.fingerprint} expires on ${k.expires.toISOString()} (within 30 days): extend it or rotate (npm run intake -- keys generate)`)
    }
  }
  return out
}
