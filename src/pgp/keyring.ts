// The team keyring: secret keys unlocked once at worker start, chosen per message by the
// key IDs in its PKESK packets (never by To/Cc, so Bcc'd mail decrypts too).
import { decryptKey, generateKey, readKeys, type Key, type KeyID, type PrivateKey } from 'openpgp'
import { pgpConfig } from './openpgp-config.js'
import type { TeamKeyring } from './types.js'

export interface LoadTeamKeyringOptions {
  /** Armored secret key blocks; each may hold several keys (old and new during rotation). */
  armored: string[]
  passphrase?: string
  development?: boolean
}

export interface KeyProblem {
  /** Upper-case hex fingerprint, when the block could be read at all. */
  fingerprint?: string
  problem: string
}

/** A team keyring that cannot be used. Lists fingerprints and problems, never key material. */
export class KeyringError extends Error {
  readonly code = 'keyring'
  readonly problems: KeyProblem[]
  constructor (problems: KeyProblem[]) {
    super(`team keyring not usable: ${problems.map(describeProblem).join('; ')}`)
    this.name = 'KeyringError'
    this.problems = problems
  }
}

function describeProblem ({ fingerprint, problem }: KeyProblem): string {
  return fingerprint === undefined ? problem : `${fingerprint} (${problem})`
}

export async function loadTeamKeyring ({ armored, passphrase, development = false }: LoadTeamKeyringOptions): Promise<TeamKeyring> {
  const problems: KeyProblem[] = []
  const unlocked = new Map<string, PrivateKey>()
  for (const [index, block] of armored.flatMap(armorBlocks).entries()) {
    const keys = await readBlock(block)
    if (keys === undefined) {
      problems.push({ problem: `key block ${index + 1} is not an armored OpenPGP key` })
      continue
    }
    for (const key of keys) {
      const fingerprint = fingerprintOf(key)
      if (unlocked.has(fingerprint)) continue
      const result = await unlockKey(key, passphrase)
      if (typeof result === 'string') problems.push({ fingerprint, problem: result })
      else unlocked.set(fingerprint, result)
    }
  }
  if (problems.length > 0) throw new KeyringError(problems)
  const secretKeys = [...unlocked.values()].sort(newestFirst)
  // Every key decrypts; the one named to reporters is the newest that is still valid
  // (an expired or revoked newest key must not be advertised), the newest otherwise.
  const newest = await firstValid(secretKeys) ?? secretKeys[0]
  if (newest === undefined) throw new KeyringError([{ problem: 'no team key configured' }])
  return { secretKeys, published: newest.toPublic(), fingerprint: fingerprintOf(newest), development }
}

async function firstValid (keys: PrivateKey[]): Promise<PrivateKey | undefined> {
  for (const key of keys) {
    const ok = await key.verifyPrimaryKey(new Date(), undefined, pgpConfig()).then(() => true, () => false)
    if (ok) return key
  }
  return undefined
}

/** A file may hold several armor blocks one after the other (cat old.asc new.asc). */
function armorBlocks (text: string): string[] {
  const blocks = text.match(/-----BEGIN PGP (?:PRIVATE|PUBLIC) KEY BLOCK-----[\s\S]*?-----END PGP (?:PRIVATE|PUBLIC) KEY BLOCK-----/g)
  return blocks ?? [text]
}

async function readBlock (block: string): Promise<Key[] | undefined> {
  try {
    return await readKeys({ armoredKeys: block, config: pgpConfig() })
  } catch {
    return undefined
  }
}

/** The unlocked key, or what is wrong with it in our own words. */
async function unlockKey (key: Key, passphrase: string | undefined): Promise<PrivateKey | string> {
  if (!key.isPrivate()) return 'public key only: the secret key is missing'
  let usable = key
  if (isLocked(key)) {
    if (passphrase === undefined) return 'protected by a passphrase, but none is configured'
    try {
      usable = await decryptKey({ privateKey: key, passphrase, config: pgpConfig() })
    } catch {
      return 'wrong passphrase'
    }
  }
  const decryptionKeys = await usable.getDecryptionKeys(undefined, null, undefined, pgpConfig()).catch(() => [])
  if (decryptionKeys.length === 0) return 'no usable encryption subkey'
  return usable
}

/** Any passphrase-protected key material? GnuPG's stripped primary (gnu-dummy, from --export-secret-subkeys) has none. */
function isLocked (key: PrivateKey): boolean {
  return key.getKeys().some(({ keyPacket }) => 'isDummy' in keyPacket && !keyPacket.isDummy() && keyPacket.isDecrypted() === false)
}

function newestFirst (a: Key, b: Key): number {
  return b.getCreationTime().getTime() - a.getCreationTime().getTime()
}

export function fingerprintOf (key: Key): string {
  return key.getFingerprint().toUpperCase()
}

export function keyIdHex (keyId: KeyID): string {
  return keyId.toHex().toUpperCase()
}

const wildcardKeyId = '0000000000000000'

/**
 * Secret keys able to decrypt a message encrypted to these key IDs, newest first. Several
 * match during key rotation; a wildcard ID (gpg --hidden-recipient) could be any of them.
 */
export function findDecryptionKeys (keyring: TeamKeyring, keyIds: KeyID[]): PrivateKey[] {
  if (keyIds.some((id) => id.toHex() === wildcardKeyId)) return keyring.secretKeys
  return keyring.secretKeys.filter((key) => keyIds.some((id) => key.getKeys(id).length > 0))
}

export interface GenerateTeamKeyOptions {
  email: string
  name?: string
  type?: 'curve25519' | 'rsa4096'
  expiresInDays?: number
  passphrase?: string
}

export interface GeneratedTeamKey {
  armoredSecret: string
  armoredPublic: string
  fingerprint: string
}

/**
 * A v4 key GnuPG 2.2+ can use: Ed25519 (legacy EdDSA) + Curve25519 ECDH subkey, or
 * RSA 4096. openpgp.js' own 'curve25519' type makes RFC 9580 X25519 keys that GnuPG rejects.
 */
export async function generateTeamKey (options: GenerateTeamKeyOptions): Promise<GeneratedTeamKey> {
  const { email, name, type = 'curve25519', expiresInDays, passphrase } = options
  const algorithm = type === 'rsa4096'
    ? { type: 'rsa' as const, rsaBits: 4096 }
    : { type: 'ecc' as const, curve: 'ed25519Legacy' as const }
  const { privateKey, publicKey } = await generateKey({
    ...algorithm,
    userIDs: [name === undefined ? { email } : { name, email }],
    keyExpirationTime: expiresInDays === undefined ? 0 : Math.round(expiresInDays * 86_400),
    ...(passphrase === undefined ? {} : { passphrase }),
    format: 'object',
    config: pgpConfig()
  })
  return {
    armoredSecret: privateKey.armor(pgpConfig()),
    armoredPublic: publicKey.armor(pgpConfig()),
    fingerprint: fingerprintOf(publicKey)
  }
}
