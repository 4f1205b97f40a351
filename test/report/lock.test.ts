import t from 'tap'
import { Redis } from 'ioredis'
import { ReportBusyError, withReportLock } from '../../src/report/lock.js'
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
