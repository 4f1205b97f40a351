// RFC 3834 per-sender window and the hourly cap on automatic replies, against real Redis.
import t from 'tap'
import { Redis } from 'ioredis'
import { mailboxKey, replyWindow } from '../../src/mail/reply-window.js'
import { REDIS_URL, dropPrefix, keysUnder, uniquePrefix } from '../helpers/redis.js'

const DAYS3 = 3 * 24 * 3600 * 1000
const SAME = 'this sender had the same kind of reply within the window (RFC 3834)'

t.test('one reply of a kind per inbox and window; acknowledgements counted up to the limit', async (t) => {
  const prefix = uniquePrefix('window')
  const redis = new Redis(REDIS_URL)
  t.teardown(async () => { redis.disconnect(); await dropPrefix(prefix) })
  const window = replyWindow(redis, prefix, { windowMs: DAYS3, ackLimit: 2, maxPerHour: 100 })
  t.equal(await window.take('unreadable', 'a@example.net'), undefined)
  t.equal(await window.take('unreadable', 'A@Example.net'), SAME, 'same sender, any spelling')
  t.equal(await window.take('unreadable', 'a+again@example.net'), SAME, 'a +tag is the same inbox')
  t.equal(await window.take('unreadable', 'b@example.net'), undefined, 'another sender')
  t.equal(await window.take('ack', 'a@example.net'), undefined, 'another kind')
  t.equal(await window.take('ack', 'a+2@example.net'), undefined, 'a second distinct report')
  t.equal(await window.take('ack', 'a+3@example.net'), SAME, 'over the limit, whatever the tag')
  const names = await keysUnder(redis, prefix)
  t.notOk(names.some((n) => n.includes('example')), 'addresses hashed')
  for (const name of names.filter(n => n.includes(':replied:'))) {
    const ttl = await redis.ttl(name)
    t.ok(ttl > 3 * 24 * 3600 - 60 && ttl <= 3 * 24 * 3600, `${name} lives one window`)
  }
})

t.test('all automatic replies together are capped per hour', async (t) => {
  const prefix = uniquePrefix('window-cap')
  const redis = new Redis(REDIS_URL)
  t.teardown(async () => { redis.disconnect(); await dropPrefix(prefix) })
  let now = Date.UTC(2026, 10, 28, 10, 5)
  const window = replyWindow(redis, prefix, { windowMs: DAYS3, ackLimit: 3, maxPerHour: 3, now: () => now })
  for (const victim of ['v1', 'v2', 'v3']) t.equal(await window.take('ack', `${victim}@example.net`), undefined, `${victim} answered`)
  t.equal(await window.take('ack', 'v4@example.net'), 'hourly limit of automatic replies reached')
  t.equal(await window.take('unreadable', 'v5@example.net'), 'hourly limit of automatic replies reached', 'every windowed kind counts')
  now += 3_600_000
  t.equal(await window.take('ack', 'v6@example.net'), undefined, 'the next hour starts afresh')
  const hourKeys = (await keysUnder(redis, prefix)).filter(n => n.includes(':replied-hour:'))
  t.equal(hourKeys.length, 2)
  for (const name of hourKeys) t.ok(await redis.ttl(name) <= 7200, 'hour counters expire')
})

t.test('a reserved share of the hourly cap is kept for authenticated senders (issue 15 finding 8)', async (t) => {
  const prefix = uniquePrefix('window-reserve')
  const redis = new Redis(REDIS_URL)
  t.teardown(async () => { redis.disconnect(); await dropPrefix(prefix) })
  const now = Date.UTC(2026, 10, 28, 10, 5)
  const window = replyWindow(redis, prefix, { windowMs: DAYS3, ackLimit: 3, maxPerHour: 8, reservedPercent: 25, now: () => now })
  const forgedShare = 'hourly limit of automatic replies to unauthenticated senders reached (the rest is kept for authenticated ones)'
  for (let i = 1; i <= 6; i++) t.equal(await window.take('ack', `forged${i}@example.net`), undefined, `forged ${i} within the share`)
  // A flood of refused forgeries must not eat into the reserve: refusals are not counted.
  for (let i = 7; i <= 40; i++) t.equal(await window.take('ack', `forged${i}@example.net`), forgedShare)
  t.equal(await window.take('ack', 'genuine1@example.org', true), undefined, 'authenticated: from the reserve')
  t.equal(await window.take('ack', 'genuine2@example.org', true), undefined, 'the whole reserve')
  t.equal(await window.take('ack', 'genuine3@example.org', true), 'hourly limit of automatic replies reached', 'the cap still holds for everyone')
  t.equal(await window.take('ack', 'forged41@example.net'), forgedShare)
  t.equal(Number(await redis.get(`${prefix}:gw:replied-hour:${Math.floor(now / 3_600_000)}`)), 8, 'only replies that go out are counted')
  const none = replyWindow(redis, prefix + 'z', { windowMs: DAYS3, ackLimit: 3, maxPerHour: 2, reservedPercent: 0, now: () => now })
  t.equal(await none.take('ack', 'a@example.net'), undefined)
  t.equal(await none.take('ack', 'b@example.net'), undefined, 'reservedPercent 0: everyone shares the whole cap')
  await dropPrefix(prefix + 'z')
})

t.test('mailboxKey: case, +tags and IDN spellings are one inbox', async (t) => {
  t.equal(mailboxKey('Alice+x@Example.NET'), 'alice@example.net')
  t.equal(mailboxKey('alice@bücher.example'), 'alice@xn--bcher-kva.example')
  t.equal(mailboxKey('+only@example.net'), '+only@example.net', 'a local part that is all tag stays itself')
})
