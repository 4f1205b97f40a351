// The reporter's public key as the message offers it: an Autocrypt header (Level 1) or
// an attached key whose user ID is the From address. A key found here only says who
// holds it; whether it signed the report is verify.ts' job.
import { enums, readKey, readKeys, unarmor, type Key, type PublicKey } from 'openpgp'
import type { KeySource, ReporterKey } from '../domain/report.js'
import { fingerprintOf } from './keyring.js'
import { pgpConfig } from './openpgp-config.js'
import { splitPackets } from './packets.js'

/** Autocrypt Level 1 caps keydata at 10 KiB. */
const maxAutocryptKeyBytes = 10 * 1024
/** An attached key block larger than this is not a reporter's key. */
const maxAttachedKeyBytes = 64 * 1024
/** Key attachments looked at per message; a reporter attaches one. */
const maxKeyAttachments = 3
/** Keys taken from one key block. */
const maxKeysPerBlock = 3
/**
 * Checking a key verifies self-signatures one by one, and openpgp.js caches only the
 * ones that pass: a key above these bounds is ignored rather than checked, so a sender
 * cannot buy seconds of CPU per message with a block of user IDs or signatures.
 */
const maxUserIdsPerKey = 32
const maxSubkeysPerKey = 16
const maxSignaturesPerKey = 64
/**
 * Packets in one key block, counted on their framing before openpgp.js parses any:
 * a 64 KiB block holds some 20,000 empty user IDs, each one an object to build.
 */
const maxPacketsPerBlock = maxKeysPerBlock * (1 + maxUserIdsPerKey + maxSubkeysPerKey + maxSignaturesPerKey)
const knownAutocryptAttributes = new Set(['addr', 'prefer-encrypt', 'keydata'])

export interface FoundKey {
  key: PublicKey
  reporterKey: ReporterKey
}

export interface KeyAttachment {
  filename: string
  contentType: string
  content: Buffer
}

export interface ReporterKeyInput {
  /** The From address. */
  from?: string
  /** Every header of the outer message, lower-cased names, in order. */
  headers: Array<{ name: string, value: string }>
  /** Lower-cased top-level content type. */
  contentType: string
  attachments: KeyAttachment[]
}

/** Autocrypt key first, then attached keys; duplicates removed. */
export async function findReporterKeys (input: ReporterKeyInput): Promise<FoundKey[]> {
  if (input.from === undefined) return []
  const found: FoundKey[] = []
  const autocrypt = await autocryptKey(input, input.from)
  if (autocrypt !== undefined) found.push(autocrypt)
  for (const key of await attachedKeys(input.attachments, input.from)) {
    if (!found.some((other) => other.reporterKey.fingerprint === key.reporterKey.fingerprint)) found.push(key)
  }
  return found
}

export interface AutocryptHeader {
  addr: string
  preferEncrypt?: 'mutual'
  keydata: Buffer
}

/** One Autocrypt header value, or undefined when Level 1 says to ignore it. */
export function parseAutocrypt (value: string): AutocryptHeader | undefined {
  const attributes = new Map<string, string>()
  for (const piece of value.split(';')) {
    const equals = piece.indexOf('=')
    if (equals <= 0) return undefined
    const name = piece.slice(0, equals).trim().toLowerCase()
    if (name.startsWith('_')) continue // non-critical attribute
    if (!knownAutocryptAttributes.has(name) || attributes.has(name)) return undefined
    attributes.set(name, piece.slice(equals + 1).trim())
  }
  const addr = attributes.get('addr')
  const keydata = attributes.get('keydata')?.replace(/\s+/g, '')
  if (addr === undefined || addr === '' || keydata === undefined || keydata === '') return undefined
  if (keydata.length > Math.ceil(maxAutocryptKeyBytes / 3) * 4 || !/^[A-Za-z0-9+/]+={0,2}$/.test(keydata)) return undefined
  const decoded = Buffer.from(keydata, 'base64')
  if (decoded.length === 0 || decoded.length > maxAutocryptKeyBytes) return undefined
  return attributes.get('prefer-encrypt') === 'mutual'
    ? { addr, preferEncrypt: 'mutual', keydata: decoded }
    : { addr, keydata: decoded }
}

/** Autocrypt ignores auto-replies and delivery reports (Level 1, section 2.3). */
export function autocryptApplies (headers: Array<{ name: string, value: string }>, contentType: string): boolean {
  if (contentType === 'multipart/report') return false
  const autoSubmitted = headers.find((header) => header.name === 'auto-submitted')?.value.trim().toLowerCase()
  return autoSubmitted === undefined || autoSubmitted === 'no' || autoSubmitted.startsWith('no ')
}

async function autocryptKey (input: ReporterKeyInput, from: string): Promise<FoundKey | undefined> {
  if (!autocryptApplies(input.headers, input.contentType)) return undefined
  const matching = input.headers
    .filter((header) => header.name === 'autocrypt')
    .map((header) => parseAutocrypt(header.value))
    .filter((header): header is AutocryptHeader => header !== undefined && sameAddress(header.addr, from))
  // More than one valid header for the sender: Level 1 says to use none.
  if (matching.length !== 1) return undefined
  const key = await readPublicKey((matching[0] as AutocryptHeader).keydata)
  if (key === undefined || !withinBounds(key) || !(await isUsable(key))) return undefined
  return found(key, 'autocrypt')
}

async function readPublicKey (binaryKey: Buffer): Promise<PublicKey | undefined> {
  if (!fewEnoughPackets(binaryKey)) return undefined
  try {
    const key = await readKey({ binaryKey, config: pgpConfig() })
    // A secret key pasted by mistake is not kept anywhere.
    return key.isPrivate() ? undefined : key as PublicKey
  } catch {
    return undefined
  }
}

/** Attached public keys (application/pgp-keys, or a key block in an .asc/.pgp/.gpg/.key file) with a valid user ID for From. */
export async function attachedKeys (attachments: KeyAttachment[], from: string): Promise<FoundKey[]> {
  const result: FoundKey[] = []
  for (const attachment of attachments.filter(isKeyAttachment).slice(0, maxKeyAttachments)) {
    for (const key of await readAttachedKeys(attachment.content)) {
      if (withinBounds(key) && await hasUserId(key, from)) result.push(found(key, 'attached'))
    }
  }
  return result
}

function isKeyAttachment ({ filename, contentType, content }: KeyAttachment): boolean {
  if (content.length === 0 || content.length > maxAttachedKeyBytes) return false
  if (contentType === 'application/pgp-keys') return true
  return /\.(asc|pgp|gpg|key)$/i.test(filename) && content.subarray(0, 256).toString('latin1').includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')
}

async function readAttachedKeys (content: Buffer): Promise<PublicKey[]> {
  const binaryKeys = await keyBlockBinary(content)
  if (binaryKeys === undefined || !fewEnoughPackets(binaryKeys)) return []
  try {
    const keys: Key[] = await readKeys({ binaryKeys, config: pgpConfig() })
    return keys.filter((key) => !key.isPrivate()).slice(0, maxKeysPerBlock) as PublicKey[]
  } catch {
    return []
  }
}

/** The key block's packets: binary as attached, or the armor (from where it begins) decoded. */
async function keyBlockBinary (content: Buffer): Promise<Uint8Array | undefined> {
  const start = content.toString('latin1').indexOf('-----BEGIN PGP PUBLIC KEY BLOCK-----')
  if (start === -1) return content
  try {
    const { type, data } = await unarmor(content.subarray(start).toString('utf8'), pgpConfig())
    return type === enums.armor.publicKey && data instanceof Uint8Array ? data : undefined
  } catch {
    return undefined
  }
}

function fewEnoughPackets (binary: Uint8Array): boolean {
  const packets = splitPackets(binary, maxPacketsPerBlock)
  return packets !== undefined && packets !== 'too-many'
}

/** Few enough user IDs and signatures that checking them all is cheap. */
function withinBounds (key: PublicKey): boolean {
  if (key.users.length > maxUserIdsPerKey || key.subkeys.length > maxSubkeysPerKey) return false
  // directSignatures exists on every Key but is missing from openpgp.js' typings.
  const direct = (key as unknown as { directSignatures?: unknown[] }).directSignatures?.length ?? 0
  let signatures = direct + key.revocationSignatures.length
  for (const user of key.users) signatures += user.selfCertifications.length + user.revocationSignatures.length
  // Subkey bindings are checked when a signature is verified with this key.
  for (const subkey of key.subkeys) signatures += subkey.bindingSignatures.length + subkey.revocationSignatures.length
  return signatures <= maxSignaturesPerKey
}

/**
 * A user ID for the address with a valid, unrevoked self-certification. One
 * getPrimaryUser call per spelling of the address: it already checks every user ID with
 * that e-mail, so calling it once per matching user ID (as before) was quadratic.
 */
async function hasUserId (key: PublicKey, address: string): Promise<boolean> {
  const spellings = new Set<string>()
  for (const user of key.users) {
    const email = user.userID?.email
    if (email !== undefined && sameAddress(email, address)) spellings.add(email)
  }
  for (const email of spellings) {
    const valid = await key.getPrimaryUser(undefined, { email }, pgpConfig()).then(() => true, () => false)
    if (valid) return true
  }
  return false
}

async function isUsable (key: PublicKey): Promise<boolean> {
  return await key.verifyPrimaryKey(undefined, undefined, pgpConfig()).then(() => true, () => false)
}

function sameAddress (a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase()
}

/** Known keys (from an earlier report, say) as FoundKey. */
export function knownKey (key: PublicKey): FoundKey {
  return found(key, 'known')
}

function found (key: PublicKey, source: KeySource): FoundKey {
  return { key, reporterKey: { armored: key.armor(pgpConfig()), fingerprint: fingerprintOf(key), source } }
}
