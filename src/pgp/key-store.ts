// Reporters' public keys, kept per sender address so later mail to them (the published
// notice weeks later, a second report) can be encrypted. Public keys only: a secret key
// is refused. The Redis key is a hash of the normalized address, so a key listing shows
// no addresses; the value is the armored public key (public by definition).
import { createHash } from 'node:crypto'
import { domainToASCII } from 'node:url'
import type { Redis } from 'ioredis'
import { readKey, type PublicKey } from 'openpgp'
import type { KeySource } from '../domain/report.js'
import { fingerprintOf } from './keyring.js'
import { pgpConfig } from './openpgp-config.js'
import { execAll } from '../store/exec.js'

/** A reporter's key block larger than this is not stored (reporter-keys.ts caps what it accepts at 64 KiB). */
const maxArmoredBytes = 96 * 1024
/** Kept for two years after the last time it was seen. */
const ttlSeconds = 2 * 365 * 24 * 3600

interface StoredKey {
  key: PublicKey
  fingerprint: string
  source: KeySource
}

export interface ReporterKeyStore {
  /** The key on record for an address, if any (and still usable for encryption). */
  get: (address: string) => Promise<StoredKey | undefined>
  /**
   * Records a key for an address. A valid key already on record is replaced only when
   * the new message was signed by that key on record (`vouched`): From is forgeable, and
   * a signature by a key that came in the same message (Autocrypt, attachment) proves
   * only that the sender holds that key, so it must not redirect later mail to it.
   */
  remember: (address: string, armored: string, opts: { source: KeySource, vouched: boolean }) => Promise<'stored' | 'kept' | 'refused'>
}

/**
 * Lower-case, trimmed, the domain in A-labels: the form the store is keyed by. Replies go
 * to the A-label form (messages.ts), while From may arrive in U-labels (SMTPUTF8), and
 * both must find the same key.
 */
export function normalizeAddress (address: string): string {
  const clean = address.trim().toLowerCase()
  const at = clean.lastIndexOf('@')
  const domain = at < 0 ? '' : domainToASCII(clean.slice(at + 1))
  return at < 0 || domain === '' ? clean : `${clean.slice(0, at)}@${domain}`
}

export function addressHash (address: string): string {
  return createHash('sha256').update(normalizeAddress(address)).digest('hex')
}

export function reporterKeyStore (redis: Redis, prefix: string): ReporterKeyStore {
  const keyOf = (address: string) => `${prefix}:gw:reporter-key:${addressHash(address)}`
  return {
    async get (address) {
      const stored = await redis.hgetall(keyOf(address))
      if (stored.armored === undefined) return undefined
      const key = await readPublic(stored.armored)
      if (key === undefined || !(await canEncrypt(key))) return undefined
      return { key, fingerprint: fingerprintOf(key), source: (stored.source as KeySource | undefined) ?? 'known' }
    },
    async remember (address, armored, { source, vouched }) {
      if (Buffer.byteLength(armored) > maxArmoredBytes) return 'refused'
      const incoming = await readPublic(armored)
      if (incoming === undefined) return 'refused'
      const fingerprint = fingerprintOf(incoming)
      const [current = null, currentArmored = null] = await redis.hmget(keyOf(address), 'fingerprint', 'armored')
      // The same key again is merged into the copy on record, never swapped for it: an
      // older copy, re-sent by anyone, would otherwise drop a revocation it does not carry.
      const key = current === fingerprint ? await merge(currentArmored, incoming) : incoming
      if (key === undefined || !(await canEncrypt(key))) return 'refused'
      // An expired or revoked key on record no longer holds its place.
      if (current !== null && current !== fingerprint && !vouched && await this.get(address) !== undefined) {
        await redis.expire(keyOf(address), ttlSeconds)
        return 'kept'
      }
      const keyArmored = key.armor(pgpConfig())
      if (Buffer.byteLength(keyArmored) > maxArmoredBytes) return 'refused' // merging must not grow it without bound
      await execAll(redis.multi()
        .hset(keyOf(address), { armored: keyArmored, fingerprint, source, at: new Date().toISOString() })
        .expire(keyOf(address), ttlSeconds))
      return 'stored'
    }
  }
}

/**
 * The store read once per address for as long as the object lives (one report's run:
 * opening the message and replying ask for the same sender's key); a remember forgets.
 */
export function memoizedKeyStore (store: ReporterKeyStore): ReporterKeyStore {
  const read = new Map<string, Promise<StoredKey | undefined>>()
  return {
    async get (address) {
      const at = normalizeAddress(address)
      let found = read.get(at)
      if (found === undefined) {
        found = store.get(address)
        read.set(at, found)
        found.catch(() => read.delete(at))
      }
      return await found
    },
    async remember (address, armored, opts) {
      read.clear()
      return await store.remember(address, armored, opts)
    }
  }
}

/** The key on record updated with what the new copy adds (subkeys, signatures, revocations). */
async function merge (currentArmored: string | null, incoming: PublicKey): Promise<PublicKey | undefined> {
  const current = currentArmored === null ? undefined : await readPublic(currentArmored)
  if (current === undefined) return incoming
  try {
    return await current.update(incoming, undefined, pgpConfig())
  } catch {
    return undefined
  }
}

async function readPublic (armored: string): Promise<PublicKey | undefined> {
  try {
    const key = await readKey({ armoredKey: armored, config: pgpConfig() })
    // Only the public half is ever kept; a secret key handed to us is refused outright.
    return key.isPrivate() ? undefined : key as PublicKey
  } catch {
    return undefined
  }
}

/**
 * The key is valid now and has an encryption (sub)key: a signing-only key is of no use
 * for replies. Which address it belongs to was settled by the discovery rules
 * (reporter-keys.ts: Autocrypt addr = From, attached user ID = From, or the signer).
 */
async function canEncrypt (key: PublicKey): Promise<boolean> {
  return await key.getEncryptionKey(undefined, undefined, undefined, pgpConfig()).then(() => true, () => false)
}
