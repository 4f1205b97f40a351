// RFC 3834 per-sender window, against real Redis.
import t from 'tap'
import { Redis } from 'ioredis'
import { replyWindow } from '../../src/mail/reply-window.js'
import { REDIS_URL, dropPrefix, keysUnder, uniquePrefix } from '../helpers/redis.js'

t.test('one reply of a kind per sender and window; acknowledgements counted up to the limit', async (t) => {
  const prefix = uniquePrefix('window')
  const redis = new Redis(REDIS_URL)
  t.teardown(async () => { redis.disconnect(); await dropPrefix(prefix) })
  const window = replyWindow(redis, prefix, { windowMs: 3 * 24 * 3600 * 1000, ackLimit: 2 })
  t.equal(await window.take('unreadable', 'a@example.net'), true)
  t.equal(await window.take('unreadable', 'A@Example.net'), false, 'same sender, any spelling')
  t.equal(await window.take('unreadable', 'b@example.net'), true, 'another sender')
  t.equal(await window.take('ack', 'a@example.net'), true, 'another kind')
  t.equal(await window.take('ack', 'a@example.net'), true, 'a second distinct report')
  t.equal(await window.take('ack', 'a@example.net'), false, 'over the limit')
  const names = await keysUnder(redis, prefix)
  t.notOk(names.some((n) => n.includes('example')), 'addresses hashed')
  for (const name of names) {
    const ttl = await redis.ttl(name)
    t.ok(ttl > 3 * 24 * 3600 - 60 && ttl <= 3 * 24 * 3600, `${name} lives one window`)
  }
})
