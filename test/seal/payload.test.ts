import t from 'tap'
import { packPayload, unpackPayload } from '../../src/seal/payload.js'
import { plainMessage } from '../helpers/messages.js'

t.test('version 0 (raw alone, all earlier seals) opens unchanged', async (t) => {
  const raw = plainMessage({ messageId: 'v0@example.org' })
  t.equal(packPayload(raw, undefined), raw, 'no metadata: the raw bytes are the payload')
  t.same(unpackPayload(raw), { raw })
})

t.test('version 1 carries the provider metadata with the exact bytes', async (t) => {
  const raw = Buffer.concat([plainMessage(), Buffer.from([0x00, 0xff, 0xe9])])
  const meta = { verdicts: { spam: true, spamScore: 7 }, envelope: { from: 'a@example.org', to: ['security@stacklok.com'] }, providerMessageId: 'p-1', rebuilt: true }
  const out = unpackPayload(packPayload(raw, meta))
  t.same(out.meta, meta)
  t.ok(out.raw.equals(raw))
})

t.test('an unknown version is refused, not read as mail', async (t) => {
  const packed = packPayload(plainMessage(), { verdicts: {} })
  packed[packed.indexOf(0x01, 20)] = 9
  t.throws(() => unpackPayload(packed), /version 9/)
})
