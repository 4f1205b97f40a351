import t from 'tap'
import { randomBytes } from 'node:crypto'
import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core'
import { generateSealKeyPair, importPrivateKey, importPublicKey, internals, open, openSliced, seal, sealParts } from '../../src/seal/hpke.js'

const suite = new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() })

t.test('round trip, and any change to key, aad or bytes fails', async (t) => {
  const pair = generateSealKeyPair()
  const pub = importPublicKey(pair.publicKey)
  const priv = importPrivateKey(pair.privateKey)
  const msg = randomBytes(5000)
  const sealed = seal(pub, msg, 'id-1')
  t.same(open(priv, sealed, 'id-1'), msg)
  t.throws(() => open(priv, sealed, 'id-2'), 'aad binds the envelope to its intake id')
  const flipped = Buffer.from(sealed); flipped[60] = (flipped[60] ?? 0) ^ 1
  t.throws(() => open(priv, flipped, 'id-1'))
  t.throws(() => open(importPrivateKey(generateSealKeyPair().privateKey), sealed, 'id-1'))
  t.notOk(sealed.includes(msg.subarray(0, 16)), 'no plaintext in the envelope')
})

t.test('interoperates with @hpke/core (RFC 9180) in both directions', async (t) => {
  const pair = generateSealKeyPair()
  const msg = Buffer.from('interop check')
  const aad = 'intake-id'
  const info = internals.INFO

  // ours -> @hpke/core
  const sealed = seal(importPublicKey(pair.publicKey), msg, aad)
  const skR = await suite.kem.importKey('jwk', { kty: 'OKP', crv: 'X25519', x: pair.publicKey, d: pair.privateKey }, false)
  const recipient = await suite.createRecipientContext({ recipientKey: skR, enc: sealed.subarray(1, 33), info })
  const pt = await recipient.open(sealed.subarray(33), Buffer.from(aad))
  t.equal(Buffer.from(pt).toString(), 'interop check')

  // @hpke/core -> ours
  const pkR = await suite.kem.importKey('jwk', { kty: 'OKP', crv: 'X25519', x: pair.publicKey }, true)
  const sender = await suite.createSenderContext({ recipientPublicKey: pkR, info })
  const ct = await sender.seal(msg, Buffer.from(aad))
  const envelope = Buffer.concat([Buffer.from([1]), Buffer.from(sender.enc), Buffer.from(ct)])
  t.same(open(importPrivateKey(pair.privateKey), envelope, aad), msg)
})

t.test('sealParts: the envelope of the concatenated parts, sealed in slices (multi-MiB messages)', async (t) => {
  const pair = generateSealKeyPair()
  const pub = importPublicKey(pair.publicKey)
  const priv = importPrivateKey(pair.privateKey)
  for (const sizes of [[0], [5, 0, 17], [3 * 1024 * 1024 + 7], [10, 2 * 1024 * 1024, 1]]) {
    const parts = sizes.map((n, i) => Buffer.alloc(n, 97 + i))
    const sealed = await sealParts(pub, parts, 'intake-1')
    t.same(open(priv, sealed, 'intake-1'), Buffer.concat(parts), `parts of ${sizes.join('+')} bytes`)
    t.equal(sealed.length, 1 + 32 + Buffer.concat(parts).length + 16)
  }
})

t.test('openSliced: what open gives, read in slices with turns between them; any change fails', async (t) => {
  const pair = generateSealKeyPair()
  const pub = importPublicKey(pair.publicKey)
  const priv = importPrivateKey(pair.privateKey)
  const ranges = (sealed: Buffer, reads: Array<[number, number]> = []) => async (start: number, end: number) => {
    reads.push([start, end])
    return sealed.subarray(start, end)
  }
  for (const size of [0, 1, 1024 * 1024, 3 * 1024 * 1024 + 7]) {
    const msg = randomBytes(size)
    const sealed = seal(pub, msg, 'intake-1')
    const reads: Array<[number, number]> = []
    const opened = await openSliced(priv, sealed.length, ranges(sealed, reads), 'intake-1')
    t.same(opened, msg, `${size} bytes`)
    t.equal(opened.byteLength, opened.buffer.byteLength, 'owns its memory (transferable to a thread as is)')
    t.ok(reads.every(([s, e]) => e - s <= 1024 * 1024), 'never more than 1 MiB read at once')
    if (sealed.length <= 1024 * 1024) t.equal(reads.length, 1, 'an envelope of one slice is read at once (one GETRANGE, not three)')
  }
  const small = seal(pub, randomBytes(100), 'intake-1')
  const smallFlipped = Buffer.from(small); smallFlipped[50] = (smallFlipped[50] ?? 0) ^ 1
  await t.rejects(openSliced(priv, small.length, ranges(smallFlipped), 'intake-1'), 'a changed byte of a one-slice envelope')
  await t.rejects(openSliced(priv, small.length, ranges(small), 'intake-2'), 'its aad')
  await t.rejects(openSliced(priv, small.length + 10, ranges(small), 'intake-1'), 'fewer bytes than said, in one slice')
  const sealed = seal(pub, randomBytes(2 * 1024 * 1024), 'intake-1')
  await t.rejects(openSliced(priv, sealed.length, ranges(sealed), 'intake-2'), 'aad binds the envelope to its intake id')
  const flipped = Buffer.from(sealed); flipped[1024 * 1024 + 60] = (flipped[1024 * 1024 + 60] ?? 0) ^ 1
  await t.rejects(openSliced(priv, flipped.length, ranges(flipped), 'intake-1'), 'a changed byte')
  await t.rejects(openSliced(importPrivateKey(generateSealKeyPair().privateKey), sealed.length, ranges(sealed), 'intake-1'), 'another key')
  await t.rejects(openSliced(priv, sealed.length, async (s, e) => sealed.subarray(s, Math.min(e, sealed.length - 100)), 'intake-1'), 'fewer bytes than said')
  await t.rejects(openSliced(priv, 40, ranges(sealed), 'intake-1'), 'shorter than an envelope')
})
