// GitHub answers 500, then 502 (after doing the work), then 429 and secondary-rate-limit
// 403s with retry-after, each for a window, while the worker drains 100 reports: every
// readable report is filed exactly once after recovery, no request goes out while
// GitHub said wait, and the unreadable ones are quarantined with a reason.
import t from 'tap'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { QUEUE } from '../../src/queue/jobs.js'
import { startChildRole } from '../helpers/child-gateway.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'
import { acknowledgements, advisedIntakes, assertCanaryOnlyAtGithub, makeReports, postAll, rig, waitFor, metricsOf } from './harness.js'

const COUNT = 100

t.test('GitHub 500/502/429/secondary 403 windows: all filed once after recovery, waits honoured', async (t) => {
  const r = await rig(t)
  const prefix = uniquePrefix('fault-github')
  t.teardown(() => dropPrefix(prefix))
  const logs: string[] = []
  const web = await startChildRole('web', r.webEnv(REDIS_URL, prefix), logs)
  t.teardown(() => web.kill())
  const reports = await makeReports(COUNT, r.team.keyring.published, r.wrong.keyring.published, 25)
  const { ids, refused } = await postAll(web.url, reports)
  t.equal(refused, 0)
  const readable = reports.filter((x) => x.kind !== 'undecryptable').length

  const worker = await startChildRole('worker', r.workerEnv(REDIS_URL, prefix), logs)
  t.teardown(() => worker.kill())
  // The outage, in four back-to-back windows, starting as the worker starts. Each also
  // lasts until it has answered a request, so a worker slowed by a busy machine still
  // meets every kind of failure (the test is about behaviour, not timing).
  const windows: Array<[number, number, Record<string, string>, { applied?: boolean, minHits: number }]> = [
    [1500, 500, {}, { minHits: 1 }],
    [1500, 502, {}, { applied: true, minHits: 1 }], // GitHub did the work, the answer was lost
    [3000, 429, { 'retry-after': '2' }, { minHits: 1 }],
    [3000, 403, { 'retry-after': '2' }, { minHits: 1 }] // secondary rate limit (the stub's message says so)
  ]
  let at = 0
  const timers = windows.map(([ms, status, headers, opts]) => {
    const timer = setTimeout(() => r.stub.failFor(ms, status, headers, opts), at)
    at += ms
    return timer
  })
  t.teardown(() => { for (const timer of timers) clearTimeout(timer) })
  const outageEnds = Date.now() + at

  const redis = new Redis(REDIS_URL)
  const queue = new Queue(QUEUE, { connection: redis, prefix })
  t.teardown(async () => { await queue.close(); redis.disconnect() })
  await waitFor(async () => (await queue.getCompletedCount()) + (await queue.getFailedCount()) >= COUNT, 'every job finished')

  const statuses = new Set(r.stub.requests.map((q) => q.status))
  for (const s of [500, 502, 429, 403]) t.ok(statuses.has(s), `the worker met a ${s} (met: ${[...statuses].join(', ')})`)
  t.ok(Date.now() >= outageEnds, 'the run outlasted the outage')
  const advised = advisedIntakes(r.stub)
  t.equal(advised.length, readable, `exactly ${readable} advisories`)
  t.equal(new Set(advised).size, readable, 'no duplicate, though some 502s came after the advisory was made')
  t.same(r.stub.violations.map((v) => `${v.method} ${v.path}`), [], 'no request while told to wait')
  t.same(r.stub.invalidRequests, [])
  t.equal(await queue.getFailedCount(), COUNT - readable, 'only the undecryptable ones failed')
  const quarantine = Object.values(await redis.hgetall(`${prefix}:gw:quarantine`)).map((v) => JSON.parse(v) as { code: string, reason: string })
  t.equal(quarantine.length, COUNT - readable)
  t.ok(quarantine.every((q) => q.code === 'undecryptable' && q.reason.length > 0), 'quarantined with a reason')
  t.equal(new Set(ids).size, COUNT)

  await waitFor(() => acknowledgements(r.smtp).distinct.size >= COUNT, 'an answer to every reporter')
  await assertCanaryOnlyAtGithub(t, { redisUrl: REDIS_URL, prefix, logs, smtp: r.smtp, stub: r.stub, metrics: await metricsOf([web.url, r.workerMetricsUrl]) })
})
