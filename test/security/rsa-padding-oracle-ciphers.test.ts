// The padding-defect matrix of rsa-padding-oracle.test.ts for AES-128 and AES-192
// messages, for a v3 PKESK before AEAD data (GnuPG 2.4's OCB packet 20, and SEIPDv2), for
// a 4096-bit key whose c is shorter than the modulus, and for the same defects behind an
// MPI with a leading zero byte. Every defect must fail with exactly the code and words of
// a well-padded wrong key. (From a review of the native RSA path.)
import t from 'tap'
import * as openpgp from 'openpgp'
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto'
import { decryptMessage } from '../../src/pgp/decrypt.js'
import { loadTeamKeyring } from '../../src/pgp/keyring.js'
import { ReportError } from '../../src/domain/errors.js'
import { newFormatPacket } from '../helpers/pgp-packets.js'

const { enums } = openpgp
type Algo = 'aes128' | 'aes192' | 'aes256'
const sizes: Record<Algo, number> = { aes128: 16, aes192: 24, aes256: 32 }

const keys = new Map<number, Promise<{ privateKey: string, publicKey: string }>>()
const keyOf = async (bits: number) => {
  if (!keys.has(bits)) keys.set(bits, openpgp.generateKey({ type: 'rsa', rsaBits: bits, userIDs: [{ email: 'rsa-team@example.org' }], format: 'armored' }))
  return await keys.get(bits)!
}

async function matrix (t: any, { bits = 2048, algo, data = 'seipd1', leadingZero = false }: { bits?: number, algo: Algo, data?: 'seipd1' | 'seipd2' | 'aeadp', leadingZero?: boolean }) {
  const armored = await keyOf(bits)
  const keyring = await loadTeamKeyring({ armored: [armored.privateKey] })
  const encKey = (await (await openpgp.readKey({ armoredKey: armored.publicKey })).getEncryptionKey()).keyPacket
  const { n, e } = encKey.publicParams as { n: Uint8Array, e: Uint8Array }
  const rsa = createPublicKey({ key: { kty: 'RSA', n: Buffer.from(n).toString('base64url'), e: Buffer.from(e).toString('base64url') }, format: 'jwk' })
  const k = n.length
  const sessionKey = randomBytes(sizes[algo])
  const encrypted = await encryptedData(data, algo, sessionKey)
  const block = (o: { head?: number[], psLength?: number, psZeroAt?: number, algo?: number, key?: Buffer, checksum?: number[] } = {}): Buffer => {
    const key = o.key ?? sessionKey
    let sum = 0
    for (const b of key) sum += b
    const payload = Buffer.from([o.algo ?? enums.symmetric[algo], ...key, ...(o.checksum ?? [(sum >> 8) & 0xff, sum & 0xff])])
    const ps = Buffer.from(Array.from({ length: o.psLength ?? k - 3 - payload.length }, () => 1 + Math.floor(Math.random() * 255)))
    if (o.psZeroAt !== undefined) ps[o.psZeroAt] = 0
    const body = Buffer.concat([Buffer.from(o.head ?? [0, 2]), ps, Buffer.from([0]), payload])
    return Buffer.concat([Buffer.alloc(Math.max(0, k - body.length)), body]).subarray(0, k)
  }
  const message = (b: Buffer): Buffer => {
    let c = publicEncrypt({ key: rsa, padding: constants.RSA_NO_PADDING }, b)
    let start = 0
    while (start < c.length - 1 && c[start] === 0) start++
    c = c.subarray(start)
    const bitLength = (c.length - 1) * 8 + (32 - Math.clz32(c[0]!)) + (leadingZero ? 8 : 0)
    const mpi = Buffer.concat([Buffer.from([bitLength >> 8, bitLength & 0xff]), leadingZero ? Buffer.from([0]) : Buffer.alloc(0), c])
    const pkesk = Buffer.concat([Buffer.from([3]), Buffer.from((encKey.getKeyID() as unknown as { write: () => Uint8Array }).write()), Buffer.from([encKey.algorithm]), mpi])
    return Buffer.concat([newFormatPacket(1, pkesk), encrypted])
  }
  const outcome = async (b: Buffer): Promise<string> => {
    try {
      return `decrypted: ${Buffer.from((await decryptMessage(message(b), keyring)).data).toString()}`
    } catch (err) {
      if (!(err instanceof ReportError)) throw err
      return `${err.code}: ${err.message}`
    }
  }
  t.equal(await outcome(block()), 'decrypted: TOP-SECRET', 'the well-formed block decrypts')
  const wrongKey = await outcome(block({ key: randomBytes(sizes[algo]) }))
  t.match(wrongKey, /^(tampered|unparsable): /, 'a well-padded wrong key fails')
  const other = algo === 'aes256' ? 'aes128' : 'aes256'
  const defects: Record<string, Buffer> = {
    'first byte not 00': block({ head: [1, 2] }),
    'block type 01': block({ head: [0, 1] }),
    'padding string 7 bytes': block({ psLength: 7 }),
    'zero inside PS': block({ psZeroAt: 20 }),
    'zero right after the block type': block({ psZeroAt: 0 }),
    'no separator': Buffer.concat([Buffer.from([0, 2]), Buffer.alloc(k - 2, 7)]),
    'cipher byte names the other AES size': block({ algo: enums.symmetric[other] }),
    'cipher byte camellia (11/13: openpgp.js 6 has no enum for it)': block({ algo: algo === 'aes128' ? 11 : 13 }),
    'checksum 0000': block({ checksum: [0, 0] }),
    'checksum high byte off': block({ checksum: [((sessionKey.reduce((s, b) => s + b, 0) >> 8) + 1) & 0xff, sessionKey.reduce((s, b) => s + b, 0) & 0xff] }),
    'key one byte short': block({ key: sessionKey.subarray(1) }),
    'key one byte long': block({ key: Buffer.concat([sessionKey, Buffer.from([1])]) }),
    'a valid block of the other AES size': block({ algo: enums.symmetric[other], key: randomBytes(sizes[other]) }),
    'all-zero block': Buffer.alloc(k),
    'random block': Buffer.concat([Buffer.from([0]), randomBytes(k - 1)])
  }
  for (const [defect, b] of Object.entries(defects)) t.equal(await outcome(b), wrongKey, defect)
}

async function encryptedData (kind: 'seipd1' | 'seipd2' | 'aeadp', algo: Algo, sessionKey: Uint8Array): Promise<Buffer> {
  const literal = new openpgp.LiteralDataPacket() as any // openpgp.d.ts marks the packet API private
  literal.setText('TOP-SECRET')
  const packets = new openpgp.PacketList()
  packets.push(literal)
  const config = { ...openpgp.config, aeadChunkSizeByte: 12 }
  let sealed: any
  if (kind === 'aeadp') {
    sealed = new openpgp.AEADEncryptedDataPacket()
    sealed.aeadAlgorithm = enums.aead.ocb
  } else {
    sealed = new openpgp.SymEncryptedIntegrityProtectedDataPacket()
    Object.assign(sealed, kind === 'seipd2' ? { version: 2, aeadAlgorithm: enums.aead.ocb, cipherAlgorithm: enums.symmetric[algo] } : { version: 1 })
  }
  sealed.packets = packets
  await sealed.encrypt(enums.symmetric[algo], sessionKey, config)
  const list = new openpgp.PacketList()
  list.push(sealed)
  const written = list.write() as Uint8Array | ReadableStream<Uint8Array>
  if (written instanceof Uint8Array) return Buffer.from(written)
  const chunks: Uint8Array[] = []
  const reader = written.getReader()
  for (let next = await reader.read(); next.done !== true; next = await reader.read()) chunks.push(next.value)
  return Buffer.concat(chunks)
}


t.test('AES-128 message', async (t) => { await matrix(t, { algo: 'aes128' }) })
t.test('AES-192 message', async (t) => { await matrix(t, { algo: 'aes192' }) })
t.test('AES-256, RSA-4096', async (t) => { await matrix(t, { algo: 'aes256', bits: 4096 }) })
t.test('v3 PKESK + OCB packet 20 (GnuPG 2.4), AES-256', async (t) => { await matrix(t, { algo: 'aes256', data: 'aeadp' }) })
t.test('v3 PKESK + SEIPDv2 OCB, AES-128', async (t) => { await matrix(t, { algo: 'aes128', data: 'seipd2' }) })
t.test('MPI with a leading zero byte (openpgp.js path at bb00591)', async (t) => { await matrix(t, { algo: 'aes256', leadingZero: true }) })
