// The worker is SIGKILLed in the middle of 1,000 reports (plain and encrypted) and
// started again: every report ends filed exactly once, each reporter gets one
// acknowledgement, and the canary stays where it belongs.
import t from 'tap'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { QUEUE } from '../../src/queue/jobs.js'
import { startChildRole } from '../helpers/child-gateway.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'
import { acknowledgements, advisedIntakes, assertCanaryOnlyAtGithub, makeReports, postAll, rig, waitFor, metricsOf } from './harness.js'

const COUNT = 1000

t.test('worker SIGKILLed mid-way through 1,000 reports, restarted: 1,000 outcomes, no duplicate advisory', async (t) => {
  const r = await rig(t)
  const prefix = uniquePrefix('fault-kill')
  t.teardown(() => dropPrefix(prefix))
  const logs: string[] = []
  const web = await startChildRole('web', r.webEnv(REDIS_URL, prefix), logs)
  t.teardown(() => web.kill())

  const reports = await makeReports(COUNT, r.team.keyring.published, r.wrong.keyring.published, 0)
  const { ids, refused } = await postAll(web.url, reports)
  t.equal(refused, 0, 'every post answered 200')
  t.equal(new Set(ids).size, COUNT, '1,000 distinct intakes queued')
  const filed = COUNT

  const first = await startChildRole('worker', r.workerEnv(REDIS_URL, prefix), logs)
  await waitFor(() => r.stub.advisories.length >= 300, 'the first 300 advisories')
  await first.kill('SIGKILL')
  const atKill = r.stub.advisories.length
  t.ok(atKill < filed, `killed mid-way (${atKill} of ${filed} filed)`)

  // BullMQ finds the killed run's jobs stalled (lock expired); the report lock of the
  // killed runs expires after its TTL, so the re-runs wait that out, then resume.
  const second = await startChildRole('worker', r.workerEnv(REDIS_URL, prefix), logs)
  t.teardown(() => second.kill())
  const redis = new Redis(REDIS_URL)
  const queue = new Queue(QUEUE, { connection: redis, prefix })
  t.teardown(async () => { await queue.close(); redis.disconnect() })
  await waitFor(async () => (await queue.getCompletedCount()) + (await queue.getFailedCount()) >= COUNT, 'every job finished', 240_000)

  t.equal(await queue.getFailedCount(), 0, 'no job failed')
  const advised = advisedIntakes(r.stub)
  t.equal(advised.length, filed, 'exactly 1,000 advisories')
  t.equal(new Set(advised).size, filed, 'no intake filed twice')
  t.same(new Set(advised), new Set(ids), 'one for each intake answered 200')
  t.same(r.stub.invalidRequests, [])
  t.equal(await redis.hlen(`${prefix}:gw:quarantine`), 0, 'nothing quarantined')

  // Acknowledgement Message-IDs are per intake, so a reply re-sent after the kill (SMTP
  // accepted it, the record of it did not happen) is the same message, not a second one:
  // SMTP has no exactly-once, the Message-ID lets the recipient's mail system merge it.
  await waitFor(() => acknowledgements(r.smtp).distinct.size >= COUNT, 'every acknowledgement', 60_000).catch(async (err: Error) => {
    // Say what the progress records claim, to tell a lost reply from a suppressed one.
    const states = await Promise.all(ids.slice(0, 1000).map(async (id) => await redis.hget(`${prefix}:gw:state:${id}`, 'reply.ack')))
    const kinds = new Map<string, number>()
    for (const v of states) { const k = v === null ? 'none' : v.startsWith('suppressed') ? v : 'sent'; kinds.set(k, (kinds.get(k) ?? 0) + 1) }
    throw new Error(`${err.message}: ${acknowledgements(r.smtp).distinct.size} distinct; reply.ack records ${JSON.stringify([...kinds])}`)
  })
  const acks = acknowledgements(r.smtp)
  t.equal(acks.distinct.size, COUNT, 'exactly 1,000 acknowledgements (distinct Message-IDs)')
  t.ok(acks.deliveries - COUNT <= 4, `re-sends only for runs in flight at the kill (${acks.deliveries - COUNT})`)

  await assertCanaryOnlyAtGithub(t, { redisUrl: REDIS_URL, prefix, logs, smtp: r.smtp, stub: r.stub, metrics: await metricsOf([web.url, r.workerMetricsUrl]) })
})
