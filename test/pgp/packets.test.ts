import t from 'tap'
import { distinctSignatures, signatureIdentity, splitPackets } from '../../src/pgp/packets.js'

const body = (n: number): Buffer => Buffer.alloc(n, 7)

t.test('framing: every length form, and what is refused', async (t) => {
  const newOne = Buffer.concat([Buffer.from([0xc2, 5]), body(5)])
  const newTwo = Buffer.concat([Buffer.from([0xc2, 192 + 1, 8]), body(456)]) // ((193 - 192) << 8) + 8 + 192
  const newFive = Buffer.concat([Buffer.from([0xc2, 255, 0, 0, 0x01, 0x00]), body(256)])
  const oldOne = Buffer.concat([Buffer.from([0x88, 3]), body(3)])
  const oldTwo = Buffer.concat([Buffer.from([0x89, 0x01, 0x00]), body(256)])
  const oldFour = Buffer.concat([Buffer.from([0x8a, 0, 0, 0, 2]), body(2)])
  const packets = splitPackets(Buffer.concat([newOne, newTwo, newFive, oldOne, oldTwo, oldFour]))
  t.same((packets as Array<{ tag: number, body: Uint8Array }>).map((p) => [p.tag, p.body.length]), [[2, 5], [2, 456], [2, 256], [2, 3], [2, 256], [2, 2]])
  t.equal(splitPackets(Buffer.from([0xc2, 0xe1, 1, 2])), undefined, 'partial body length')
  t.equal(splitPackets(Buffer.from([0x8b, 1, 2])), undefined, 'indeterminate (old format) length')
  t.equal(splitPackets(Buffer.from([0xc2, 9, 1, 2])), undefined, 'truncated')
  t.equal(splitPackets(Buffer.from([0x42, 1, 1])), undefined, 'not a packet header')
  t.same(splitPackets(Buffer.alloc(0)), [])
  // Counting stops at the cap: a block of a million 2-byte packets is not split whole.
  const many = Buffer.alloc(2_000_000)
  for (let i = 0; i < many.length; i += 2) many[i] = 0xca // new format, tag 10 (marker), length 0
  t.equal(splitPackets(many, 10_000), 'too-many')
  t.equal((splitPackets(many.subarray(0, 20)) as unknown[]).length, 10, 'under no cap: every packet')
})

t.test('signature identity leaves out the unhashed area only', async (t) => {
  // v4: version, type, algorithms, hashed area (2-octet length), unhashed area, left 16 bits, MPI
  const v4 = (hashed: number[], unhashed: number[]): Buffer => Buffer.from([4, 0, 22, 10, 0, hashed.length, ...hashed, 0, unhashed.length, ...unhashed, 0xab, 0xcd, 0, 8, 0xff])
  t.equal(signatureIdentity(v4([1, 2], [3])), signatureIdentity(v4([1, 2], [9, 9, 9])), 'unhashed area differs: same')
  t.not(signatureIdentity(v4([1, 2], [3])), signatureIdentity(v4([1, 3], [3])), 'hashed area differs: different')
  t.not(signatureIdentity(Buffer.from([4, 0, 22, 10, 0, 50])), '', 'an overrunning length is hashed whole')
  t.same(distinctSignatures([v4([1], [1]), v4([1], [2]), v4([2], [1])], (b) => b).length, 2)
})
