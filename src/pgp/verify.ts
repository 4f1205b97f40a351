// Signature checks: RFC 3156 detached signatures, inline cleartext / signed armored
// messages, and the shared mapping from openpgp.js results to SignatureState.
// openpgp.js' default rejectMessageHashAlgorithms refuses SHA-1 (and MD5, RIPEMD160).
import {
  createMessage,
  enums,
  readCleartextMessage,
  readMessage,
  readSignature,
  verify,
  type Config,
  type KeyID,
  type PublicKey,
  type Signature
} from 'openpgp'
import { ReportError } from '../report/errors.js'
import type { SignatureState } from '../report/types.js'
import { fingerprintOf, keyIdHex } from './keyring.js'
import { pgpConfig } from './openpgp-config.js'
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
  if (parsed === undefined) return malformed('the signature is not a valid OpenPGP signature')
  const message = await createMessage({ binary: data, format: 'binary' })
  const { signatures } = await verify({ message, signature: parsed, verificationKeys: keysOf(candidates), format: 'binary', config })
  return await signatureState(signatures, candidates)
}

async function readDetached (signature: Uint8Array | string, config: Config): Promise<Signature | undefined> {
  try {
    const text = typeof signature === 'string' ? signature : armoredText(signature)
    if (text !== undefined) return await readSignature({ armoredSignature: text, config })
    return await readSignature({ binarySignature: signature as Uint8Array, config })
  } catch {
    return undefined
  }
}

function armoredText (bytes: Uint8Array): string | undefined {
  const text = Buffer.from(bytes).toString('utf8')
  return text.trimStart().startsWith('-----BEGIN PGP') ? text : undefined
}

export interface InlineVerification {
  /** The signed text (dash-escaping removed); the input as-is when it could not be read. */
  text: string
  state: SignatureState
}

/**
 * Inline `-----BEGIN PGP SIGNED MESSAGE-----` cleartext, or a signed (not encrypted)
 * `-----BEGIN PGP MESSAGE-----`. Text outside the armor is not returned.
 */
export async function verifyInlineSigned (armored: string, candidates: Candidates): Promise<InlineVerification> {
  const trimmed = armored.trimStart()
  if (trimmed.startsWith(cleartextHeader)) return await verifyCleartext(trimmed, candidates)
  if (trimmed.startsWith(messageHeader)) return await verifySignedMessage(trimmed, candidates)
  return { text: armored, state: { state: 'unsigned' } }
}

async function verifyCleartext (armored: string, candidates: Candidates): Promise<InlineVerification> {
  const config = pgpConfig()
  let message: Awaited<ReturnType<typeof readCleartextMessage>>
  try {
    message = await readCleartextMessage({ cleartextMessage: armored, config })
  } catch {
    return { text: armored, state: malformed('the cleartext signed message is malformed') }
  }
  let result: Awaited<ReturnType<typeof verify<string>>>
  try {
    result = await verify({ message, verificationKeys: keysOf(candidates), config })
  } catch {
    return { text: armored, state: malformed('the cleartext signed message is malformed') }
  }
  return { text: result.data, state: await signatureState(result.signatures, candidates) }
}

async function verifySignedMessage (armored: string, candidates: Candidates): Promise<InlineVerification> {
  const config = pgpConfig()
  let message: Awaited<ReturnType<typeof readMessage<string>>>
  try {
    message = await readMessage({ armoredMessage: armored, config })
  } catch (err) {
    if (err instanceof Error && /Maximum decompressed/i.test(err.message)) {
      throw new ReportError('too-large', `the signed message is larger than ${config.maxDecompressedMessageSize} bytes after decompression`)
    }
    return { text: armored, state: malformed('the signed message is malformed') }
  }
  const encrypted = message.packets.filterByTag(
    enums.packet.publicKeyEncryptedSessionKey,
    enums.packet.symEncryptedSessionKey,
    enums.packet.symEncryptedIntegrityProtectedData,
    enums.packet.aeadEncryptedData,
    enums.packet.symmetricallyEncryptedData
  )
  if (encrypted.length > 0) throw new ReportError('unparsable', 'expected a signed message, found an encrypted one')
  // openpgp.js throws, rather than reporting a bad signature, when the packets do not
  // form a signed message (two literal packets, none, a one-pass signature without its
  // signature): that is a malformed message, not a failure of ours (found by fuzzing).
  let result: { signatures: Awaited<ReturnType<typeof verify>>['signatures'], data: Uint8Array }
  try {
    result = await verify({ message, verificationKeys: keysOf(candidates), format: 'binary', config })
  } catch {
    return { text: armored, state: malformed('the signed message is malformed') }
  }
  return { text: Buffer.from(result.data).toString('utf8'), state: await signatureState(result.signatures, candidates) }
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
export async function signatureState (results: VerificationResult[], candidates: Candidates): Promise<SignatureState> {
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
