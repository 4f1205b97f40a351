// Bleichenbacher: an RSA session key whose PKCS#1 padding is wrong must fail exactly as a
// well-padded key that is simply wrong does (same code, same words), so that no sender can
// learn from our answers which of their ciphertexts unpadded. Each block below is made with
// the raw public-key operation and put into an otherwise valid message.
import t from 'tap'
import * as openpgp from 'openpgp'
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto'
import { decryptMessage } from '../../src/pgp/decrypt.js'
import { loadTeamKeyring } from '../../src/pgp/keyring.js'
import { ReportError } from '../../src/domain/errors.js'
import { newFormatPacket, splitFirstPacket } from '../helpers/pgp-packets.js'

const secret = 'TOP-SECRET-REPORT-TEXT: the admin API takes any bearer token'
const AES256 = openpgp.enums.symmetric.aes256

t.test('RSA session keys: every padding defect fails like a wrong key', async (t) => {
  const { privateKey, publicKey } = await openpgp.generateKey({ type: 'rsa', rsaBits: 2048, userIDs: [{ email: 'rsa-team@example.org' }], format: 'armored' })
  const keyring = await loadTeamKeyring({ armored: [privateKey] })
  const pub = await openpgp.readKey({ armoredKey: publicKey })
  const { n, e } = (await pub.getEncryptionKey()).keyPacket.publicParams as { n: Uint8Array, e: Uint8Array }
  const rsa = createPublicKey({ key: { kty: 'RSA', n: Buffer.from(n).toString('base64url'), e: Buffer.from(e).toString('base64url') }, format: 'jwk' })
  const k = n.length
  const sessionKey = randomBytes(32)
  const encrypted = await openpgp.encrypt({ message: await openpgp.createMessage({ text: secret }), encryptionKeys: pub, sessionKey: { data: sessionKey, algorithm: 'aes256' }, format: 'binary' })

  /** 00 02 PS 00 algo key checksum, each piece overridable. */
  const block = (o: { head?: number[], psLength?: number, psZeroAt?: number, algo?: number, key?: Buffer, checksum?: number[] } = {}): Buffer => {
    const key = o.key ?? sessionKey
    let sum = 0
    for (const b of key) sum += b
    const payload = Buffer.from([o.algo ?? AES256, ...key, ...(o.checksum ?? [(sum >> 8) & 0xff, sum & 0xff])])
    const psLength = o.psLength ?? k - 3 - payload.length
    const ps = Buffer.from(Array.from({ length: psLength }, () => 1 + Math.floor(Math.random() * 255)))
    if (o.psZeroAt !== undefined) ps[o.psZeroAt] = 0
    const body = Buffer.concat([Buffer.from(o.head ?? [0, 2]), ps, Buffer.from([0]), payload])
    return Buffer.concat([Buffer.alloc(Math.max(0, k - body.length)), body]).subarray(0, k)
  }
  // The message is the PKESK packet followed by the encrypted data: swap the first packet.
  const { rest } = splitFirstPacket(Buffer.from(encrypted))
  const withBlock = async (b: Buffer): Promise<Uint8Array> => {
    const message = await openpgp.readMessage({ binaryMessage: encrypted })
    const pkesk = message.packets.filterByTag(openpgp.enums.packet.publicKeyEncryptedSessionKey)[0] as unknown as { encrypted: { c: Uint8Array }, write: () => Uint8Array }
    pkesk.encrypted = { c: new Uint8Array(publicEncrypt({ key: rsa, padding: constants.RSA_NO_PADDING }, b)) }
    return Buffer.concat([newFormatPacket(1, pkesk.write()), rest])
  }
  const outcome = async (b: Buffer): Promise<string> => {
    try {
      const result = await decryptMessage(await withBlock(b), keyring)
      return `decrypted: ${Buffer.from(result.data).toString()}`
    } catch (err) {
      if (!(err instanceof ReportError)) throw err
      t.notMatch(err.message, /TOP-SECRET/)
      return `${err.code}: ${err.message}`
    }
  }

  t.equal(await outcome(block()), `decrypted: ${secret}`, 'the well-formed block decrypts (the test makes blocks right)')
  const wrongKey = await outcome(block({ key: randomBytes(32) }))
  t.match(wrongKey, /^tampered: /, 'a well-padded wrong key fails at the integrity check')
  const defects: Record<string, Buffer> = {
    'first byte not 00': block({ head: [1, 2] }),
    'block type 01, not 02': block({ head: [0, 1] }),
    'padding string too short (the block starts 00 00)': block({ psLength: 7 }),
    'a zero inside the padding string': block({ psZeroAt: 20 }),
    'zero right after the block type': block({ psZeroAt: 0 }),
    'no separator at all': Buffer.concat([Buffer.from([0, 2]), Buffer.alloc(k - 2, 7)]),
    'cipher byte names AES-128 for a 32-byte key': block({ algo: openpgp.enums.symmetric.aes128 }),
    'cipher byte unknown (99)': block({ algo: 99 }),
    'checksum off by one': block({ checksum: [0, 0] }),
    'key one byte short': block({ key: sessionKey.subarray(1) }),
    'key one byte long': block({ key: Buffer.concat([sessionKey, Buffer.from([1])]) })
  }
  for (const [defect, b] of Object.entries(defects)) {
    t.equal(await outcome(b), wrongKey, defect)
  }
})
