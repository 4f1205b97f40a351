// The Message-ID map: hashed keys, and a mapping once written is never redirected.
import t from 'tap'
import { Redis } from 'ioredis'
import { threadIndex } from '../../src/store/thread-index.js'
import { REDIS_URL, dropPrefix, keysUnder, uniquePrefix } from '../helpers/redis.js'

t.test('a follow-up reusing another report\'s Message-ID does not take its replies', async (t) => {
  const redis = new Redis(REDIS_URL)
  const prefix = uniquePrefix('thread-index')
  t.teardown(async () => { await dropPrefix(prefix); redis.disconnect() })
  const threads = threadIndex(redis, prefix)
  const victim = 'a'.repeat(24)
  const attacker = 'b'.repeat(24)
  await threads.rememberFirst('<Report-1@victim.example>', victim)
  // The attacker's follow-up to their own advisory carries the victim's Message-ID.
  await threads.remember('<report-1@victim.example>', attacker)
  t.equal(await threads.byMessageId('report-1@victim.example'), victim, 'replies to the victim\'s report still find the victim\'s report')
  await threads.remember('<fresh@example.org>', attacker)
  t.equal(await threads.byMessageId('fresh@example.org'), attacker, 'an unused Message-ID is mapped')
  const keys = await keysUnder(redis, prefix)
  t.notOk(keys.some((k) => /victim|example/i.test(k)), 'no Message-ID in the clear in key names')
})
