// Decrypt one OpenPGP message with the team keyring.
//
// Decompression cap: with allowUnauthenticatedStream off (as it must stay), openpgp.js
// buffers the whole decrypted packet stream to check the MDC first and then inflates a
// Compressed Data packet to its end before handing anything over, so counting bytes on
// the returned data would come after a 1 GiB bomb had already been inflated in memory.
// openpgp.js 6.3 counts inside its inflate/bunzip transform when
// maxDecompressedMessageSize is set and aborts as soon as it is passed: that is where
// the cap has to live. The literal data is then counted again (uncompressed or streamed
// data never passes through that transform). The same transform enforces the expansion
// ratio: the cap handed to it is also at most maxExpansion times the ciphertext, so a
// few hundred KB cannot inflate to the whole cap.
import { decryptSessionKeys, enums, readMessage, type Config, type KeyID, type Message, type PrivateKey, type SessionKey } from 'openpgp'
import { limits } from '../domain/limits.js'
import { dearmorMessage } from './armor.js'
import { ReportError } from '../domain/errors.js'
import { findDecryptionKeys, fingerprintOf, keyIdHex } from './keyring.js'
import { pgpConfig } from './openpgp-config.js'
import { rsaSessionKeyCandidates } from './rsa-session-key.js'
import { isDecompressionCap, plaintextCap } from './plaintext-cap.js'
export { isPlaintextCap, maxExpansion } from './plaintext-cap.js'
import type { DecryptedParts, DecryptResult, TeamKeyring } from './types.js'
import { verifyDetached } from './verify.js'

type AnyMessage = Message<Uint8Array | string>

export interface DecryptOptions {
  /** Cap on the plaintext after decompression; defaults to limits.decryptedBytes. */
  maxBytes?: number
}

export async function decryptMessage (input: Uint8Array | string, keyring: TeamKeyring, opts: DecryptOptions = {}): Promise<DecryptResult> {
  const maxBytes = opts.maxBytes ?? limits.decryptedBytes
  return withVerify(await decryptToParts(input, keyring, { maxBytes }))
}

/** The inner signatures are verified where the sender's candidate keys are known. */
function withVerify (parts: DecryptedParts): DecryptResult {
  const { data, decryptedWith, signatureKeyIds, signatureBytes } = parts
  return {
    data,
    decryptedWith,
    signatureKeyIds,
    verify: async (candidates) => {
      if (signatureKeyIds.length === 0) return { state: 'unsigned' }
      if (signatureBytes.length === 0) return { state: 'bad', keyIds: signatureKeyIds, reason: 'the signature packets are malformed' }
      // Checked as detached signatures over the literal data: openpgp.js can read a
      // decrypted message's trailing signature packets only once.
      return await verifyDetached({ data, signature: signatureBytes, candidates })
    }
  }
}

export async function decryptToParts (input: Uint8Array | string, keyring: TeamKeyring, opts: DecryptOptions = {}): Promise<DecryptedParts> {
  const { maxBytes, tooLarge } = plaintextCap(input.length, opts.maxBytes ?? limits.decryptedBytes, { input: 'ciphertext', output: 'decrypted' })
  const config = pgpConfig({ maxDecompressedBytes: maxBytes })
  if (input.length > limits.rawMessageBytes) throw new ReportError('too-large', 'the encrypted message is larger than the raw message limit')
  let message = await parseEncrypted(input, config, tooLarge)
  const keyIds = message.getEncryptionKeyIDs()
  if (keyIds.length === 0) throw new ReportError('undecryptable', 'the message is encrypted with a passphrase, not to a key')
  const keys = findDecryptionKeys(keyring, keyIds)
  if (keys.length === 0) {
    throw new ReportError('undecryptable', `no team key can decrypt this message; it was encrypted to key IDs ${keyIds.map(keyIdHex).join(', ')}`)
  }
  // Ours by key ID, or a hidden recipient's (wildcard): each is unwrapped and tried.
  const ourIds = keys.flatMap((key) => key.getKeys().map((k) => k.getKeyID()))
  const addressed = message.packets.filterByTag(enums.packet.publicKeyEncryptedSessionKey)
    .filter((pkesk) => ourIds.some((id) => id.equals((pkesk as unknown as { publicKeyID: KeyID }).publicKeyID, true))).length
  if (addressed > limits.sessionKeyPackets) {
    throw new ReportError('too-large', `the message addresses ${addressed} session key packets to the team or to hidden recipients; at most ${limits.sessionKeyPackets} are tried`)
  }
  for (const [index, key] of keys.entries()) {
    // Each attempt consumes the session key packets, so later attempts need a fresh parse.
    if (index > 0) message = await parseEncrypted(input, config, tooLarge)
    const sessionKeys = await unlockSessionKeys(message, key, config)
    if (sessionKeys === undefined) continue
    return await decryptWith(() => parseEncrypted(input, config, tooLarge), message, sessionKeys, fingerprintOf(key), maxBytes, config, tooLarge)
  }
  throw new ReportError('undecryptable', `the session key could not be decrypted with team key ${keys.map(fingerprintOf).join(', ')}`)
}

async function parseEncrypted (input: Uint8Array | string, config: Config, tooLarge: () => ReportError): Promise<AnyMessage> {
  let message: AnyMessage
  try {
    const armored = isArmor(input)
    // The usual armor natively decoded; any other shape as openpgp.js reads it.
    const binary = armored ? dearmorMessage(input) : input as Uint8Array
    message = binary !== undefined
      ? await readMessage({ binaryMessage: binary, config })
      : await readMessage({ armoredMessage: typeof input === 'string' ? input : Buffer.from(input).toString('utf8'), config })
  } catch (err) {
    // A compressed (but not encrypted) message is inflated while it is read.
    if (isDecompressionCap(err)) throw tooLarge()
    throw new ReportError('unparsable', 'not an OpenPGP message')
  }
  const packets = message.packets
  if (packets.filterByTag(enums.packet.symmetricallyEncryptedData).length > 0) {
    throw new ReportError('unauthenticated', 'the message is encrypted without integrity protection (no MDC); refused')
  }
  if (packets.filterByTag(enums.packet.symEncryptedIntegrityProtectedData, enums.packet.aeadEncryptedData).length === 0) {
    throw new ReportError('unparsable', 'the OpenPGP data is not an encrypted message')
  }
  return message
}

/** The input is (or starts with) an ASCII armor rather than binary packets. */
function isArmor (input: Uint8Array | string): boolean {
  if (typeof input === 'string') return true
  return Buffer.from(input.subarray(0, 64)).toString('latin1').trimStart().startsWith('-----BEGIN PGP')
}

async function unlockSessionKeys (message: AnyMessage, key: PrivateKey, config: Config): Promise<SessionKey[] | undefined> {
  try {
    // RSA: OpenSSL's raw operation and our constant-time unpadding (rsa-session-key.ts).
    const rsa = await rsaSessionKeyCandidates(message, key, config)
    if (rsa !== undefined) return rsa.length > 0 ? rsa : undefined
    // SEIPDv2 session keys carry no algorithm (null); Message.decrypt reads it from the packet.
    return await decryptSessionKeys({ message, decryptionKeys: [key], config }) as SessionKey[]
  } catch {
    return undefined
  }
}

/**
 * The encrypted data opened with the first candidate that opens it, one candidate at a
 * time (openpgp.js tries all at once, each holding its own copy of the plaintext: with
 * RSA's three candidates per packet that is three copies of a 25 MB message). Each try
 * consumes the data, so later tries read the message again.
 */
async function decryptWith (reparse: () => Promise<AnyMessage>, message: AnyMessage, sessionKeys: SessionKey[], decryptedWith: string, maxBytes: number, config: Config, tooLarge: () => ReportError): Promise<DecryptedParts> {
  let decrypted: Message<Uint8Array> | undefined
  let failure: unknown
  for (const [index, sessionKey] of sessionKeys.entries()) {
    try {
      const fresh = index === 0 ? message : await reparse()
      decrypted = await fresh.decrypt(undefined, undefined, [sessionKey], undefined, config) as Message<Uint8Array>
      break
    } catch (err) {
      if (isDecompressionCap(err)) throw tooLarge()
      if (err instanceof ReportError) throw err
      failure = err
    }
  }
  if (decrypted === undefined) throw classifyFailure(failure)
  const data = await readCapped(decrypted.getLiteralData(), maxBytes, tooLarge)
  const signatures = await innerSignatures(decrypted, config)
  return { data, decryptedWith, signatureKeyIds: signatures.keyIds, signatureBytes: signatures.bytes }
}

/** The signature packets inside a decrypted message, taken out once. */
async function innerSignatures (decrypted: Message<Uint8Array>, config: Config): Promise<{ keyIds: string[], bytes: Uint8Array }> {
  const probes = await decrypted.verify([], undefined, config).catch(() => [])
  const packets = await Promise.all(probes.map(async (probe) => {
    probe.verified.catch(() => {}) // no keys given: always rejects, and we do not care here
    return await probe.signature.then((signature) => signature.write() as Uint8Array, () => undefined)
  }))
  return {
    keyIds: [...new Set(probes.map((probe) => keyIdHex(probe.keyID)))],
    bytes: Buffer.concat(packets.filter((bytes): bytes is Uint8Array => bytes !== undefined))
  }
}

function classifyFailure (err: unknown): ReportError {
  const text = err instanceof Error ? err.message : ''
  if (/Modification detected|Authentication tag|tag mismatch|Unexpected session key|Decryption failed/i.test(text)) {
    return new ReportError('tampered', 'the integrity check of the encrypted message failed: it was modified or damaged')
  }
  if (/Pars|grammar|Unsupported|Unknown|not supported|Unexpected/i.test(text)) {
    return new ReportError('unparsable', 'the decrypted data is not a valid OpenPGP message')
  }
  return new ReportError('tampered', 'the encrypted message could not be decrypted: it was modified or damaged')
}

/** The literal data, counted (and the stream cancelled) as soon as it passes the cap. */
async function readCapped (literal: Uint8Array | ReadableStream<Uint8Array> | null, maxBytes: number, overCap: () => ReportError): Promise<Uint8Array> {
  if (literal === null) throw new ReportError('unparsable', 'the encrypted message holds no literal data')
  if (literal instanceof Uint8Array) {
    if (literal.length > maxBytes) throw overCap()
    return literal
  }
  const reader = literal.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  try {
    for (let next = await reader.read(); next.done !== true; next = await reader.read()) {
      total += next.value.length
      if (total > maxBytes) {
        await reader.cancel().catch(() => {})
        throw overCap()
      }
      chunks.push(next.value)
    }
  } catch (err) {
    if (err instanceof ReportError) throw err
    throw new ReportError('tampered', 'the integrity check of the encrypted message failed: it was modified or damaged')
  }
  return Buffer.concat(chunks)
}

const encryptedPacketTags = new Set([
  enums.packet.publicKeyEncryptedSessionKey,
  enums.packet.symEncryptedSessionKey,
  enums.packet.symmetricallyEncryptedData,
  enums.packet.symEncryptedIntegrityProtectedData,
  enums.packet.aeadEncryptedData
])

/**
 * Whether the input (armored or binary) starts with an encrypted-message packet, judged
 * from the first packet header alone: cheap, and without decompressing anything.
 */
export function isEncryptedMessage (input: Uint8Array | string): boolean {
  const first = firstPacketByte(input)
  if (first === undefined || (first & 0x80) === 0) return false
  const tag = (first & 0x40) !== 0 ? first & 0x3f : (first & 0x3c) >> 2
  return encryptedPacketTags.has(tag)
}

function firstPacketByte (input: Uint8Array | string): number | undefined {
  if (!isArmor(input)) return typeof input === 'string' ? undefined : input[0]
  // Line by line, as far as the first base64 line: never the whole armor as one string.
  const bytes = typeof input === 'string' ? undefined : Buffer.from(input.buffer, input.byteOffset, input.byteLength)
  const size = bytes?.length ?? input.length
  const lineFrom = (from: number): { text: string, next: number } => {
    const lf = bytes !== undefined ? bytes.indexOf(0x0a, from) : (input as string).indexOf('\n', from)
    const to = lf < 0 ? size : lf
    return { text: bytes !== undefined ? bytes.toString('latin1', from, to) : (input as string).slice(from, to), next: lf < 0 ? size : lf + 1 }
  }
  let line = lineFrom(0)
  while (line.text.trim() === '' && line.next < size) line = lineFrom(line.next)
  if (line.text.trim() !== '-----BEGIN PGP MESSAGE-----') return undefined
  // Armor headers ("Version: ...") end at the first blank line; the base64 starts after it.
  do {
    if (line.next >= size) return undefined
    line = lineFrom(line.next)
  } while (line.text.trim() !== '')
  if (line.next >= size) return undefined
  const body = lineFrom(line.next).text
  return Buffer.from(body.trim().slice(0, 4), 'base64')[0]
}
