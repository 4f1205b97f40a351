// RSA session keys unwrapped with OpenSSL's raw RSA operation instead of openpgp.js's.
//
// Why: openpgp.js's constant-time PKCS#1 path (which we need: every inbound message is
// decrypted automatically, so a sender could use us as a Bleichenbacher oracle) does the
// private-key operation in JS BigInt, once per candidate cipher: about 160 ms of CPU per
// RSA-4096 message. Node >= 20.11 refuses PKCS#1 v1.5 in privateDecrypt (the Marvin
// attack), but the raw operation (RSA_NO_PADDING) is OpenSSL's blinded, constant-time
// CRT modexp: a few ms. The EME-PKCS1-v1_5 unpadding is done here, without branching on
// the decrypted bytes, with openpgp.js's rule: for each cipher the constant-time path
// accepts, return the session key if the block is a valid encoding of a key of that
// cipher, else a random key of that size. Every candidate is then tried on the encrypted
// data, so a bad padding and a wrong key fail the same way, at the integrity check.
import { createPrivateKey, privateDecrypt, constants, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto'
import { enums, type Config, type KeyID, type Message, type PrivateKey, type SessionKey } from 'openpgp'

type RsaPrivateParams = { d: Uint8Array, p: Uint8Array, q: Uint8Array, u: Uint8Array }
type RsaPublicParams = { n: Uint8Array, e: Uint8Array }
interface KeyPacketLike { algorithm: number, publicParams: unknown, privateParams?: unknown }
interface PkeskLike { version: number, publicKeyAlgorithm: number, publicKeyID: KeyID, encrypted: { c?: Uint8Array } | null }

const RSA_ENCRYPT = new Set<number>([enums.publicKey.rsaEncrypt, enums.publicKey.rsaEncryptSign])

/** OpenSSL key objects, made once per secret key packet (the BigInt CRT values are slow). */
const keyObjects = new WeakMap<object, { key: KeyObject, modulusBytes: number }>()

/**
 * The candidate session keys of a message for one team key when an RSA key packet of it
 * matches one of the message's session key packets (possibly none: a v6 packet, c not
 * below n); undefined when no RSA key packet matches, or a non-RSA one does (openpgp.js
 * then does the work). Never decided by anything but public packet fields.
 */
export async function rsaSessionKeyCandidates (message: Message<Uint8Array | string>, key: PrivateKey, config: Config): Promise<SessionKey[] | undefined> {
  const pkesks = message.packets.filterByTag(enums.packet.publicKeyEncryptedSessionKey) as unknown as PkeskLike[]
  const candidates: SessionKey[] = []
  let rsaMatched = false
  for (const pkesk of pkesks) {
    const keyPackets = (await key.getDecryptionKeys(pkesk.publicKeyID, null, undefined, config).catch(() => []))
      .map((k) => k.keyPacket as unknown as KeyPacketLike)
    for (const keyPacket of keyPackets) {
      // Everything decided here is public (packet headers, the key's algorithms, c).
      // openpgp.js refuses a PKESK whose algorithm differs from the key's ('Decryption
      // error'): that pair yields nothing either way, so it must not send the whole
      // message to openpgp.js's JS unwrapping. Only a non-RSA key packet that can decrypt
      // this PKESK (ElGamal, ECDH, X25519) is left to openpgp.js.
      if (keyPacket.algorithm !== pkesk.publicKeyAlgorithm) continue
      if (!RSA_ENCRYPT.has(keyPacket.algorithm)) return undefined
      rsaMatched = true
      if (pkesk.version !== 3) continue // v6: no cipher byte (openpgp.js's constant-time path never yields a key for it either)
      const c = pkesk.encrypted?.c
      if (c === undefined) continue
      // openpgp.js keeps the zero bytes a sender declares in an MPI's bit count
      const block = rawDecrypt(keyPacket, significant(c))
      if (block === undefined) continue
      for (const algorithm of likeliestFirst(config.constantTimePKCS1DecryptionSupportedSymmetricAlgorithms)) {
        candidates.push({ data: decodeSessionKey(block, algorithm), algorithm: enums.read(enums.symmetric, algorithm) as SessionKey['algorithm'] })
      }
    }
  }
  return rsaMatched ? candidates : undefined
}

/**
 * The candidates are tried in this order until one opens the data: AES-256 first, as
 * GnuPG, openpgp.js and our key preferences pick it. The order is fixed, never from the block.
 */
function likeliestFirst (algorithms: Iterable<number>): number[] {
  return [...algorithms].sort((a, b) => keySize(b) - keySize(a))
}

/** c^d mod n, left-padded to the modulus length; undefined when c is not below n (public). */
function rawDecrypt (keyPacket: KeyPacketLike, c: Uint8Array): Uint8Array | undefined {
  const { key, modulusBytes } = keyObjectOf(keyPacket)
  if (c.length > modulusBytes) return undefined
  const padded = Buffer.alloc(modulusBytes)
  padded.set(c, modulusBytes - c.length)
  try {
    return privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, padded)
  } catch {
    return undefined // c >= n: OpenSSL refuses before touching the key
  }
}

function keyObjectOf (keyPacket: KeyPacketLike): { key: KeyObject, modulusBytes: number } {
  let made = keyObjects.get(keyPacket)
  if (made === undefined) {
    const { n, e } = keyPacket.publicParams as RsaPublicParams
    const { d, p, q, u } = keyPacket.privateParams as RsaPrivateParams
    made = { key: createPrivateKey({ key: privateJwk(n, e, d, p, q, u), format: 'jwk' }), modulusBytes: significant(n).length }
    keyObjects.set(keyPacket, made)
  }
  return made
}

/**
 * OpenPGP's RSA secret (u = p^-1 mod q) as a JWK, whose qi is q^-1 mod p: p and q (and
 * their exponents) change places, as openpgp.js's own node path does.
 */
function privateJwk (n: Uint8Array, e: Uint8Array, d: Uint8Array, p: Uint8Array, q: Uint8Array, u: Uint8Array): JsonWebKey {
  const big = (b: Uint8Array) => BigInt('0x' + (Buffer.from(b).toString('hex') || '0'))
  const b64 = (b: Uint8Array | bigint) => {
    if (typeof b !== 'bigint') return Buffer.from(significant(b)).toString('base64url')
    const hex = b.toString(16)
    return Buffer.from(hex.length % 2 === 0 ? hex : '0' + hex, 'hex').toString('base64url')
  }
  const dp = big(d) % (big(p) - 1n)
  const dq = big(d) % (big(q) - 1n)
  return { kty: 'RSA', n: b64(n), e: b64(e), d: b64(d), p: b64(q), q: b64(p), dp: b64(dq), dq: b64(dp), qi: b64(u) }
}

/** A big-endian number without its leading zero bytes (one byte left for zero). */
function significant (b: Uint8Array): Uint8Array {
  let start = 0
  while (start < b.length - 1 && b[start] === 0) start++
  return b.subarray(start)
}

/**
 * EME-PKCS1-v1_5 block (RFC 8017 7.2.2) carrying a v3 session key of `algorithm`:
 * 00 02 PS(>= 8 non-zero) 00 algo key(size) checksum(2). The positions depend only on
 * the cipher asked for (public), never on the block, and every check is folded into one
 * bit without branching; a block that is not exactly this yields a random key.
 */
function decodeSessionKey (block: Uint8Array, algorithm: number): Uint8Array {
  const size = keySize(algorithm)
  const payload = 1 + size + 2
  const separator = block.length - payload - 1
  const random = randomBytes(size)
  if (separator < 10) return random // a public fact: the modulus is too small for this cipher
  let bad = block[0]! | (block[1]! ^ 2) | block[separator]! | (block[separator + 1]! ^ algorithm)
  for (let i = 2; i < separator; i++) bad |= isZero(block[i]!)
  let sum = 0
  for (let i = separator + 2; i < separator + 2 + size; i++) sum += block[i]!
  bad |= ((sum >> 8) & 0xff) ^ block[block.length - 2]!
  bad |= (sum & 0xff) ^ block[block.length - 1]!
  // mask is 0xff when every check passed (bad === 0), else 0x00
  const mask = -(((bad | -bad) >> 31) + 1) & 0xff
  const key = Buffer.alloc(size)
  for (let i = 0; i < size; i++) key[i] = (block[separator + 2 + i]! & mask) | (random[i]! & ~mask & 0xff)
  return key
}

/** 1 when the byte is 0, else 0, without a comparison. */
function isZero (byte: number): number {
  return ((byte - 1) >> 8) & 1
}

function keySize (algorithm: number): number {
  switch (algorithm) {
    case enums.symmetric.aes128: return 16
    case enums.symmetric.aes192: return 24
    case enums.symmetric.aes256: return 32
    default: throw new Error(`no key size known for symmetric algorithm ${algorithm}`)
  }
}
