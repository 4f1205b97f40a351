// The per-sender rate of the abuse check, against real Redis: one mailbox is one
// sender however it is spelled, and the counters never name it.
import t from 'tap'
import { Redis } from 'ioredis'
import { abuseCheck } from '../../src/report/abuse.js'
import { generateSealKeyPair, importPrivateKey } from '../../src/seal/hpke.js'
import { REDIS_URL, dropPrefix, keysUnder, uniquePrefix } from '../helpers/redis.js'
import { plainMessage } from '../helpers/messages.js'

t.test('sender rate: +tags and case do not give a sender a new budget; keys do not name the sender', async (t) => {
  const prefix = uniquePrefix('abuse')
  const redis = new Redis(REDIS_URL)
  t.teardown(async () => { redis.disconnect(); await dropPrefix(prefix) })
  const check = abuseCheck(redis, prefix, importPrivateKey(generateSealKeyPair().privateKey), { spamScoreThreshold: 5, senderRate: { max: 2, windowSeconds: 3600 } })
  const raw = plainMessage()
  const codes = []
  for (const [i, from] of ['flood+1@example.org', 'Flood+2@Example.org', 'FLOOD@example.org'].entries()) {
    codes.push((await check(`intake-${i}`, raw, { verdicts: {}, envelope: { from, to: [] } }))?.code)
  }
  t.same(codes, [undefined, undefined, 'sender-rate'], 'the third mail of one mailbox is over a rate of 2')
  const keys = await keysUnder(redis, prefix)
  t.equal(keys.length, 1, 'one counter for the mailbox')
  t.notMatch(keys.join(' '), /flood|example/i, 'the key is a keyed hash, not the address')
})
