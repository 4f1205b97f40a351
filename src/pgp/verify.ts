// Signature checks: RFC 3156 detached signatures, inline cleartext / signed armored
// messages, and the shared mapping from openpgp.js results to SignatureState.
// openpgp.js' default rejectMessageHashAlgorithms refuses SHA-1 (and MD5, RIPEMD160).
import {
  createMessage,
  enums,
  Message,
  PacketList,
  readCleartextMessage,
  readMessage,
  readSignature,
  unarmor,
  verify,
  type AnyPacket,
  type Config,
  type KeyID,
  type PublicKey,
  Signature as SignatureClass,
  type Signature,
  SignaturePacket
} from 'openpgp'
import { limits } from '../domain/limits.js'
import { ReportError } from '../domain/errors.js'
import type { SignatureState } from '../domain/report.js'
import { fingerprintOf, keyIdHex } from './keyring.js'
import { pgpConfig } from './openpgp-config.js'
import { isDecompressionCap, plaintextCap } from './plaintext-cap.js'
import { distinctSignatures, splitPackets } from './packets.js'
import type { CandidateKey } from './types.js'

export type Candidates = Array<PublicKey | CandidateKey>

/** What openpgp.js returns per signature (its type is not exported). */
interface VerificationResult {
  keyID: KeyID
  verified: Promise<true>
}

const cleartextHeader = '-----BEGIN PGP SIGNED MESSAGE-----'
const messageHeader = '-----BEGIN PGP MESSAGE-----'

export interface VerifyDetachedInput {
  /** The signed part's exact raw bytes, CRLF line ends (RFC 3156 section 5). */
  data: Uint8Array
  /** Armored or binary detached signature. */
  signature: Uint8Array | string
  candidates: Candidates
}

export async function verifyDetached ({ data, signature, candidates }: VerifyDetachedInput): Promise<SignatureState> {
  const config = pgpConfig()
  const parsed = await readDetached(signature, config)
  if (!isSignature(parsed)) return parsed
  const message = await createMessage({ binary: data, format: 'binary' })
  const { signatures } = await verify({ message, signature: parsed, verificationKeys: keysOf(candidates), format: 'binary', config })
  return await signatureState(signatures, candidates)
}

/** Packets split out of one signature block at most: copies count once, so a bomb of 500 still verifies. */
const maxSignatureBlockPackets = 10_000

/** The signature block, counted and de-duplicated on its packet framing before openpgp.js parses it. */
async function readDetached (signature: Uint8Array | string, config: Config): Promise<Signature | SignatureState> {
  const binary = await signatureBinary(signature, config)
  const split = binary === undefined ? undefined : splitPackets(binary, maxSignatureBlockPackets)
  if (split === 'too-many') return malformed(`the signature block holds more than ${maxSignatureBlockPackets} packets`)
  // Other packets (marker, padding) are skipped, as openpgp.js skips them.
  const packets = split?.filter((packet) => packet.tag === enums.packet.signature)
  if (packets === undefined || packets.length === 0) return malformed('the signature is not a valid OpenPGP signature')
  const distinct = distinctSignatures(packets, (packet) => packet.body)
  if (distinct.length > limits.checkedSignatures) return tooManySignatures(distinct.length)
  try {
    return await readSignature({ binarySignature: Buffer.concat(distinct.map((packet) => packet.bytes)), config })
  } catch {
    return malformed('the signature is not a valid OpenPGP signature')
  }
}

function isSignature (value: Signature | SignatureState): value is Signature {
  return !('state' in value)
}

async function signatureBinary (signature: Uint8Array | string, config: Config): Promise<Uint8Array | undefined> {
  const text = typeof signature === 'string' ? signature : armoredText(signature)
  if (text === undefined) return signature as Uint8Array
  try {
    const { type, data } = await unarmor(text, config)
    return type === enums.armor.signature && data instanceof Uint8Array ? data : undefined
  } catch {
    return undefined
  }
}

function armoredText (bytes: Uint8Array): string | undefined {
  const text = Buffer.from(bytes).toString('utf8')
  return text.trimStart().startsWith('-----BEGIN PGP') ? text : undefined
}

/**
 * Copies of one signature are checked once (one good signature repeated is still one
 * good signature); more distinct signatures than anyone signs a report with are not
 * checked at all.
 */
function tooManySignatures (distinct: number): SignatureState {
  return malformed(`the message carries ${distinct} different signatures; at most ${limits.checkedSignatures} are checked, so none was`)
}

/** Signature packets with copies removed, or the refusal when too many different ones remain. */
function boundedPackets (packets: SignaturePacket[]): SignaturePacket[] | SignatureState {
  const distinct = distinctSignatures(packets, (packet) => packet.write())
  return distinct.length > limits.checkedSignatures ? tooManySignatures(distinct.length) : distinct
}

export interface InlineVerification {
  /** The signed text (dash-escaping removed); the input as-is when it could not be read. */
  text: string
  state: SignatureState
}

/** An inline signed message read (and decompressed) once; its signatures checked on demand. */
export interface InlineSigned {
  /** The signed text (dash-escaping removed); the input as-is when it could not be read. */
  text: string
  /** Bytes of a `PGP MESSAGE`'s (possibly inflated) literal data, charged to the message's plaintext budget; cleartext is input already held: 0. */
  bytes: number
  check: (candidates: Candidates) => Promise<SignatureState>
}

export interface InlineOptions {
  /** Cap on the data after decompression; defaults to limits.decryptedBytes. */
  maxBytes?: number
}

/**
 * Inline `-----BEGIN PGP SIGNED MESSAGE-----` cleartext, or a signed (not encrypted)
 * `-----BEGIN PGP MESSAGE-----`. Text outside the armor is not returned.
 */
export async function verifyInlineSigned (armored: string, candidates: Candidates, opts: InlineOptions = {}): Promise<InlineVerification> {
  const read = await readInlineSigned(armored, opts)
  return { text: read.text, state: await read.check(candidates) }
}

/**
 * As verifyInlineSigned, reading the message once. A `PGP MESSAGE` may be compressed: it
 * inflates under the plaintext budget and the expansion ratio, as a decryption does.
 */
export async function readInlineSigned (armored: string, opts: InlineOptions = {}): Promise<InlineSigned> {
  const trimmed = armored.trimStart()
  if (trimmed.startsWith(cleartextHeader)) return await readCleartext(trimmed)
  if (trimmed.startsWith(messageHeader)) return await readSignedMessage(trimmed, opts)
  return fixed(armored, { state: 'unsigned' })
}

function fixed (text: string, state: SignatureState): InlineSigned {
  return { text, bytes: 0, check: async () => state }
}

async function readCleartext (armored: string): Promise<InlineSigned> {
  const config = pgpConfig()
  let message: Awaited<ReturnType<typeof readCleartextMessage>>
  try {
    message = await readCleartextMessage({ cleartextMessage: armored, config })
  } catch {
    return fixed(armored, malformed('the cleartext signed message is malformed'))
  }
  // `signature` is public in openpgp.js but missing from its typings.
  const held = message as unknown as { signature: Signature }
  const bounded = boundedPackets(signaturePackets(held.signature.packets))
  if (!Array.isArray(bounded)) return fixed(message.getText(), bounded)
  held.signature = new SignatureClass(packetList(bounded))
  const check = async (candidates: Candidates): Promise<{ text?: string, state: SignatureState }> => {
    try {
      const result = await verify({ message, verificationKeys: keysOf(candidates), config })
      return { text: result.data, state: await signatureState(result.signatures, candidates) }
    } catch {
      return { state: malformed('the cleartext signed message is malformed') }
    }
  }
  const { text, state } = await check([])
  if (text === undefined) return fixed(armored, state)
  return { text, bytes: 0, check: async (candidates) => (await check(candidates)).state }
}

async function readSignedMessage (armored: string, opts: InlineOptions): Promise<InlineSigned> {
  const { maxBytes, tooLarge } = plaintextCap(armored.length, opts.maxBytes ?? limits.decryptedBytes, { input: 'signed message', output: 'decompressed' })
  const config = pgpConfig({ maxDecompressedBytes: maxBytes })
  let message: Awaited<ReturnType<typeof readMessage<string>>>
  try {
    message = await readMessage({ armoredMessage: armored, config })
  } catch (err) {
    if (isDecompressionCap(err)) throw tooLarge()
    return fixed(armored, malformed('the signed message is malformed'))
  }
  const encrypted = message.packets.filterByTag(
    enums.packet.publicKeyEncryptedSessionKey,
    enums.packet.symEncryptedSessionKey,
    enums.packet.symEncryptedIntegrityProtectedData,
    enums.packet.aeadEncryptedData,
    enums.packet.symmetricallyEncryptedData
  )
  if (encrypted.length > 0) throw new ReportError('unparsable', 'expected a signed message, found an encrypted one')
  const packets = await allPackets(message)
  if (packets === undefined) return fixed(armored, malformed('the signed message is malformed'))
  const bounded = boundedPackets(signaturePackets(packets))
  if (!Array.isArray(bounded)) return fixed(armored, bounded)
  // With every packet read, openpgp.js checks the signature packets against the one
  // literal data packet and ignores one-pass packets: keeping only the distinct
  // signatures changes nothing else. The list holds no stream, so it can be verified
  // again with the candidate keys without inflating it again.
  const kept = new Set<AnyPacket>(bounded)
  const whole = new Message(packetList(packets.filter((packet) => !(packet instanceof SignaturePacket) || kept.has(packet))))
  const check = async (candidates: Candidates): Promise<{ data?: Uint8Array, state: SignatureState }> => {
    // openpgp.js throws, rather than reporting a bad signature, when the packets do not
    // form a signed message (two literal packets, none, a one-pass signature without its
    // signature): that is a malformed message, not a failure of ours (found by fuzzing).
    try {
      const result = await verify({ message: whole, verificationKeys: keysOf(candidates), format: 'binary', config })
      return { data: result.data, state: await signatureState(result.signatures, candidates) }
    } catch {
      return { state: malformed('the signed message is malformed') }
    }
  }
  const { data, state } = await check([])
  if (data === undefined) return fixed(armored, state)
  // An uncompressed literal never passes the inflate transform's count.
  if (data.length > maxBytes) throw tooLarge()
  return { text: Buffer.from(data).toString('utf8'), bytes: data.length, check: async (candidates) => (await check(candidates)).state }
}

/**
 * Every packet of a (decompressed) signed message. openpgp.js leaves the packets after
 * the literal data in a stream on the list (its verify reads them there), so the
 * trailing signatures are only counted once that is read.
 */
async function allPackets (message: Message<string | Uint8Array>): Promise<AnyPacket[] | undefined> {
  const { packets } = message.unwrapCompressed()
  const stream = (packets as unknown as { stream?: { readToEnd?: (join: (rest: AnyPacket[]) => AnyPacket[]) => Promise<AnyPacket[]> } }).stream
  if (typeof stream?.readToEnd !== 'function') return [...packets]
  try {
    return [...packets, ...await stream.readToEnd((rest) => [...rest])]
  } catch {
    return undefined
  }
}

function signaturePackets (packets: AnyPacket[]): SignaturePacket[] {
  return packets.filter((packet): packet is SignaturePacket => packet instanceof SignaturePacket)
}

function packetList<T extends AnyPacket> (packets: T[]): PacketList<T> {
  const list = new PacketList<T>()
  list.push(...packets)
  return list
}

function malformed (reason: string): SignatureState {
  return { state: 'bad', keyIds: [], reason }
}

function keysOf (candidates: Candidates): PublicKey[] {
  return candidates.map((candidate) => 'source' in candidate ? candidate.key : candidate)
}

function sourced (candidates: Candidates): CandidateKey[] {
  return candidates.map((candidate) => 'source' in candidate ? candidate : { key: candidate, source: 'known' })
}

/**
 * One state for all signatures on a message: verified if any verifies, else bad if a
 * candidate key rejects one, else no-key with every issuer key ID.
 */
async function signatureState (results: VerificationResult[], candidates: Candidates): Promise<SignatureState> {
  // Every promise is observed, so an unverified one never becomes an unhandled rejection.
  const outcomes = await Promise.all(results.map(async (result) => await checkOne(result, sourced(candidates))))
  if (outcomes.length === 0) return { state: 'unsigned' }
  const verified = outcomes.find((outcome) => outcome.state === 'verified')
  if (verified !== undefined) return verified
  const keyIds = [...new Set(results.map((result) => keyIdHex(result.keyID)))]
  const bad = outcomes.find((outcome) => outcome.state === 'bad')
  if (bad !== undefined) return { ...bad, keyIds }
  return { state: 'no-key', keyIds }
}

async function checkOne (result: VerificationResult, candidates: CandidateKey[]): Promise<SignatureState> {
  const outcome = await result.verified.then(() => undefined, (err: unknown) => err)
  const keyId = keyIdHex(result.keyID)
  const holder = candidates.find(({ key }) => key.getKeys(result.keyID).length > 0)
  if (holder === undefined) return { state: 'no-key', keyIds: [keyId] }
  const fingerprint = fingerprintOf(holder.key)
  if (outcome === undefined) return { state: 'verified', fingerprint, keySource: holder.source }
  return { state: 'bad', fingerprint, keyIds: [keyId], reason: reasonFor(outcome) }
}

/** openpgp.js' failure, in our own words. */
function reasonFor (err: unknown): string {
  const text = err instanceof Error ? err.message : ''
  if (/digest did not match|Signature verification failed/i.test(text)) return 'the signed content does not match the signature'
  if (/hash algorithm/i.test(text)) return 'the signature uses an insecure hash algorithm (such as SHA-1)'
  if (/revoked/i.test(text)) return 'the signing key is revoked'
  if (/expired/i.test(text)) return 'the signing key or signature is expired'
  return 'the signature does not verify'
}
