import t from 'tap'
import { Redis } from 'ioredis'
import { ReportBusyError, withReportLock, withWaitingLock } from '../../src/store/lock.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'

t.test('one run per report at a time; released after, also after a failure', async (t) => {
  const redis = new Redis(REDIS_URL)
  const prefix = uniquePrefix('lock')
  t.teardown(async () => { redis.disconnect(); await dropPrefix(prefix) })
  let release: () => void = () => {}
  const first = withReportLock(redis, prefix, 'r1', async () => await new Promise<string>((resolve) => { release = () => resolve('first') }))
  await new Promise((r) => setTimeout(r, 20))
  await t.rejects(withReportLock(redis, prefix, 'r1', async () => 'second'), ReportBusyError, 'a second run is refused while the first holds the report')
  t.equal(await withReportLock(redis, prefix, 'r2', async () => 'other'), 'other', 'other reports are not blocked')
  release()
  t.equal(await first, 'first')
  t.equal(await withReportLock(redis, prefix, 'r1', async () => 'again'), 'again', 'free after the first run ended')
  await t.rejects(withReportLock(redis, prefix, 'r1', async () => { throw new Error('boom') }))
  t.equal(await withReportLock(redis, prefix, 'r1', async () => 'after failure'), 'after failure')
})

t.test('a waiting lock is renewed while its holder works: a waiter gets in only after it', async (t) => {
  const redis = new Redis(REDIS_URL)
  const prefix = uniquePrefix('waitlock')
  t.teardown(async () => { redis.disconnect(); await dropPrefix(prefix) })
  const key = `${prefix}:advlock`
  const opts = { lockMs: 400, waitMs: 10_000, busy: () => new Error('busy') }
  const events: string[] = []
  // The holder outlasts lockMs several times over (a slow GitHub answer).
  const first = withWaitingLock(redis, key, opts, async () => {
    events.push('first in')
    await new Promise((resolve) => setTimeout(resolve, 1500))
    events.push('first out')
  })
  await new Promise((resolve) => setTimeout(resolve, 20))
  const second = withWaitingLock(redis, key, opts, async () => { events.push('second in') })
  await Promise.all([first, second])
  t.same(events, ['first in', 'first out', 'second in'])
  await t.rejects(withWaitingLock(redis, key, { ...opts, waitMs: 0 }, async () => await withWaitingLock(redis, key, { ...opts, waitMs: 0 }, async () => {})), /busy/, 'busy() when the wait is over')
})
