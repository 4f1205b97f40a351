// The sealed message as the worker reads it (src/seal/stored.ts): GETRANGE slices into
// openSliced. A missing key is "none", a seal that does not open is UnsealError (the job
// quarantines it `unsealable`), and a Redis failure stays a Redis failure (retried).
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { generateSealKeyPair, importPrivateKey, importPublicKey, seal } from '../../src/seal/hpke.js'
import { openStored, UnsealError } from '../../src/seal/stored.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'

t.test('openStored: the plaintext, none, UnsealError or the Redis error', async (t) => {
  const prefix = uniquePrefix('stored')
  const redis = new Redis(REDIS_URL)
  t.teardown(async () => { await dropPrefix(prefix); redis.disconnect() })
  const pair = generateSealKeyPair()
  const priv = importPrivateKey(pair.privateKey)
  const msg = randomBytes(3 * 1024 * 1024 + 5)
  await redis.set(`${prefix}:s`, seal(importPublicKey(pair.publicKey), msg, 'id-1'))
  t.same(await openStored(redis, `${prefix}:s`, priv, 'id-1'), msg, 'opened across slices')
  t.equal(await openStored(redis, `${prefix}:missing`, priv, 'id-1'), undefined, 'no key: none')
  await t.rejects(openStored(redis, `${prefix}:s`, importPrivateKey(generateSealKeyPair().privateKey), 'id-1'), { name: 'UnsealError' }, 'another key')
  await t.rejects(openStored(redis, `${prefix}:s`, priv, 'id-2'), { name: 'UnsealError' }, 'another intake id')
  const down = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false })
  const err = await openStored(down, `${prefix}:s`, priv, 'id-1', 100).catch((e: unknown) => e)
  t.notOk(err instanceof UnsealError, 'a Redis failure is not taken for a bad seal')
  t.ok(err instanceof Error)
  down.disconnect()
})
