// Sealing: the web role encrypts every raw message to a key only the worker holds,
// before it enters Redis. This is RFC 9180 HPKE, base mode, with
// DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and AES-256-GCM, built on Node's native
// crypto. Why not @hpke/core: measured on this machine it seals ~560 msgs/s of 20 KB
// (WebCrypto's async overhead) against ~4,000/s natively — the ingest target needs the
// latter. test/seal/hpke.test.ts checks interoperability with @hpke/core both ways.
import {
  createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey,
  diffieHellman, generateKeyPairSync, type CipherGCM, type KeyObject
} from 'node:crypto'

const KEM_ID = 0x0020 // DHKEM(X25519, HKDF-SHA256)
const KDF_ID = 0x0001 // HKDF-SHA256
const AEAD_ID = 0x0002 // AES-256-GCM
const VERSION = 0x01 // our envelope format: version || enc(32) || ciphertext||tag
const INFO = Buffer.from('security-intake-gateway/sealed-message/v1')

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff])
const KEM_SUITE = Buffer.concat([Buffer.from('KEM'), u16(KEM_ID)])
const HPKE_SUITE = Buffer.concat([Buffer.from('HPKE'), u16(KEM_ID), u16(KDF_ID), u16(AEAD_ID)])
const V1 = Buffer.from('HPKE-v1')

function extract (salt: Buffer, ikm: Buffer): Buffer {
  return createHmac('sha256', salt.length > 0 ? salt : Buffer.alloc(32)).update(ikm).digest()
}

function expand (prk: Buffer, info: Buffer, length: number): Buffer {
  // Every length we use (12, 32) fits in one SHA-256 block: T(1) = HMAC(prk, info || 0x01).
  if (length > 32) throw new Error('expand: longer outputs are not needed here')
  return createHmac('sha256', prk).update(info).update(Buffer.from([1])).digest().subarray(0, length)
}

const labeledExtract = (suite: Buffer, salt: Buffer, label: string, ikm: Buffer) =>
  extract(salt, Buffer.concat([V1, suite, Buffer.from(label), ikm]))
const labeledExpand = (suite: Buffer, prk: Buffer, label: string, info: Buffer, length: number) =>
  expand(prk, Buffer.concat([u16(length), V1, suite, Buffer.from(label), info]), length)

// Exporting a key is slow next to the rest of a seal; the recipient's is the same every time.
const rawPublicCache = new WeakMap<KeyObject, Buffer>()
function rawPublic (key: KeyObject): Buffer {
  let raw = rawPublicCache.get(key)
  if (raw === undefined) {
    raw = Buffer.from(key.export({ format: 'jwk' }).x as string, 'base64url')
    rawPublicCache.set(key, raw)
  }
  return raw
}

function sharedSecret (dh: Buffer, enc: Buffer, pkR: Buffer): Buffer {
  const prk = labeledExtract(KEM_SUITE, Buffer.alloc(0), 'eae_prk', dh)
  return labeledExpand(KEM_SUITE, prk, 'shared_secret', Buffer.concat([enc, pkR]), 32)
}

function keySchedule (shared: Buffer): { key: Buffer, nonce: Buffer } {
  const empty = Buffer.alloc(0)
  const context = Buffer.concat([
    Buffer.from([0x00]), // mode_base
    labeledExtract(HPKE_SUITE, empty, 'psk_id_hash', empty),
    labeledExtract(HPKE_SUITE, empty, 'info_hash', INFO)
  ])
  const secret = labeledExtract(HPKE_SUITE, shared, 'secret', empty)
  return {
    key: labeledExpand(HPKE_SUITE, secret, 'key', context, 32),
    nonce: labeledExpand(HPKE_SUITE, secret, 'base_nonce', context, 12)
  }
}

export function importPublicKey (base64url: string): KeyObject {
  const raw = Buffer.from(base64url, 'base64url')
  if (raw.length !== 32) throw new Error('seal public key must be 32 bytes (base64url)')
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' })
}

export function importPrivateKey (base64url: string): KeyObject {
  const raw = Buffer.from(base64url, 'base64url')
  if (raw.length !== 32) throw new Error('seal private key must be 32 bytes (base64url)')
  // JWK import needs x as well; derive it from d via a PKCS#8 round trip.
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), raw])
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
}

function exportKeyPair (privateKey: KeyObject): { publicKey: string, privateKey: string } {
  const jwk = privateKey.export({ format: 'jwk' })
  return { publicKey: jwk.x as string, privateKey: jwk.d as string }
}

export function generateSealKeyPair (): { publicKey: string, privateKey: string } {
  return exportKeyPair(generateKeyPairSync('x25519').privateKey)
}

export function publicFromPrivate (privateKey: KeyObject): KeyObject {
  return createPublicKey(privateKey)
}

type JwkPairGenerator = (type: 'x25519', options: { publicKeyEncoding: { format: 'jwk' } }) => { publicKey: { x: string }, privateKey: KeyObject }

/**
 * A fresh X25519 pair with the public half already raw. Asking Node for it as JWK at
 * generation is ~3x cheaper than exporting it afterwards (measured: 56 µs vs 175 µs);
 * @types/node has no overload for a public-only encoding, hence the cast.
 */
function ephemeralKeyPair (): { privateKey: KeyObject, x: string } {
  const pair = (generateKeyPairSync as unknown as JwkPairGenerator)('x25519', { publicKeyEncoding: { format: 'jwk' } })
  return { privateKey: pair.privateKey, x: pair.publicKey.x }
}

/** Seals `plaintext` to `recipient`; `aad` binds the envelope to its context (the intake id). */
export function seal (recipient: KeyObject, plaintext: Uint8Array, aad: string): Buffer {
  const { enc, cipher } = cipherFor(recipient, aad)
  return Buffer.concat([Buffer.from([VERSION]), enc, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
}

/** A fresh ephemeral key (its public half `enc` heads the envelope) and the AES-GCM cipher it keys. */
function cipherFor (recipient: KeyObject, aad: string): { enc: Buffer, cipher: CipherGCM } {
  const eph = ephemeralKeyPair()
  const enc = Buffer.from(eph.x, 'base64url')
  const dh = diffieHellman({ privateKey: eph.privateKey, publicKey: recipient })
  const { key, nonce } = keySchedule(sharedSecret(dh, enc, rawPublic(recipient)))
  const cipher = createCipheriv('aes-256-gcm', key, nonce)
  cipher.setAAD(Buffer.from(aad))
  return { enc, cipher }
}

const SLICE = 1024 * 1024

/**
 * `seal` over the concatenation of `parts`, the same bytes out, without blocking the event
 * loop: AES-GCM runs over 1 MiB slices with a turn for other requests between them, into
 * one buffer sized up front (a 25 MB message sealed at once held the loop for 0.2-0.6 s,
 * and a concatenation first made yet another copy of it).
 */
export async function sealParts (recipient: KeyObject, parts: Uint8Array[], aad: string): Promise<Buffer> {
  const { enc, cipher } = cipherFor(recipient, aad)
  const length = parts.reduce((n, p) => n + p.byteLength, 0)
  const out = Buffer.allocUnsafe(1 + 32 + length + 16)
  out[0] = VERSION
  enc.copy(out, 1)
  let at = 33
  for (const part of parts) {
    for (let i = 0; i < part.byteLength; i += SLICE) {
      at += cipher.update(part.subarray(i, i + SLICE)).copy(out, at)
      if (length > SLICE) await new Promise((resolve) => setImmediate(resolve))
    }
  }
  at += cipher.final().copy(out, at)
  cipher.getAuthTag().copy(out, at)
  return out
}

/** Opens an envelope made by `seal`; throws when the key, the aad or any byte is wrong. */
export function open (privateKey: KeyObject, sealed: Uint8Array, aad: string): Buffer {
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
  if (buf.length < 1 + 32 + 16 || buf[0] !== VERSION) throw new Error('not a sealed message')
  const decipher = decipherFor(privateKey, buf.subarray(0, 33), buf.subarray(buf.length - 16), aad)
  return Buffer.concat([decipher.update(buf.subarray(33, buf.length - 16)), decipher.final()])
}

/**
 * `open` for an envelope of `length` bytes read in slices (`read(start, end)`, end
 * exclusive; Redis GETRANGE, say), without blocking the event loop: never the whole
 * ciphertext in one piece (a 35 MB GET is concatenated by the client in one go),
 * AES-GCM over 1 MiB slices with a turn for other work between them, into one buffer
 * sized up front that owns its memory (a 25 MB message opened at once held the loop
 * for ~0.4 s, and its client reply ~0.2 s more). The content only counts once `final`
 * has checked the tag: on any error nothing is returned.
 */
export async function openSliced (privateKey: KeyObject, length: number, read: (start: number, end: number) => Promise<Uint8Array>, aad: string): Promise<Buffer> {
  if (length < 1 + 32 + 16) throw new Error('not a sealed message')
  // A usual report fits one slice: one read, not three (head, tag, body).
  if (length <= SLICE) {
    const whole = Buffer.from(await read(0, length))
    if (whole.length !== length || whole[0] !== VERSION) throw new Error('not a sealed message of this length')
    const decipher = decipherFor(privateKey, whole.subarray(0, 33), whole.subarray(length - 16), aad)
    const out = Buffer.allocUnsafeSlow(length - 33 - 16)
    decipher.update(whole.subarray(33, length - 16)).copy(out)
    decipher.final()
    return out
  }
  const head = await read(0, 33)
  if (head.length !== 33 || head[0] !== VERSION) throw new Error('not a sealed message')
  const decipher = decipherFor(privateKey, Buffer.from(head), Buffer.from(await read(length - 16, length)), aad)
  const out = Buffer.allocUnsafeSlow(length - 33 - 16)
  let at = 0
  for (let i = 33; i < length - 16; i += SLICE) {
    const slice = await read(i, Math.min(i + SLICE, length - 16))
    if (slice.length === 0) throw new Error('sealed message shorter than said')
    at += decipher.update(slice).copy(out, at)
    await new Promise((resolve) => setImmediate(resolve))
  }
  decipher.final()
  if (at !== out.length) throw new Error('sealed message shorter than said')
  return out
}

function decipherFor (privateKey: KeyObject, head: Buffer, tag: Buffer, aad: string) {
  const enc = head.subarray(1, 33)
  const pkE = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: enc.toString('base64url') }, format: 'jwk' })
  const dh = diffieHellman({ privateKey, publicKey: pkE })
  const { key, nonce } = keySchedule(sharedSecret(dh, enc, rawPublic(recipientOf(privateKey))))
  const decipher = createDecipheriv('aes-256-gcm', key, nonce)
  decipher.setAAD(Buffer.from(aad))
  decipher.setAuthTag(tag)
  return decipher
}

const publicOfPrivate = new WeakMap<KeyObject, KeyObject>()
function recipientOf (privateKey: KeyObject): KeyObject {
  let pub = publicOfPrivate.get(privateKey)
  if (pub === undefined) {
    pub = publicFromPrivate(privateKey)
    publicOfPrivate.set(privateKey, pub)
  }
  return pub
}

/** Raw HPKE pieces, exported for the interoperability test only. */
export const internals = { INFO, rawPublic }
