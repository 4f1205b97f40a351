// A dedicated redis-server is killed while a provider keeps posting, then restarted:
// every answer is 200 or 503 (never a hang, a 500 or a 200 for a message that is then
// lost), and every message answered 200 is processed once Redis is back. A 503 may come
// for a message that was stored before Redis died (the answer is only 200 once every
// write is done): the provider's retry then gets 200 and the same id, and it is filed once.
import t from 'tap'
import { startChildRole } from '../helpers/child-gateway.js'
import { startRedisServer } from '../helpers/redis-server.js'
import { uniquePrefix } from '../helpers/redis.js'
import { assertCanaryOnlyAtGithub, hasAdvisory, makeReports, post, rig, waitFor, metricsOf } from './harness.js'

t.test('Redis killed while posting: 503 only, and every message answered 200 is processed after restart', async (t) => {
  const r = await rig(t)
  const redis = await startRedisServer()
  t.teardown(redis.close)
  const prefix = uniquePrefix('fault-redis')
  const logs: string[] = []
  const web = await startChildRole('web', r.webEnv(redis.url, prefix), logs)
  t.teardown(() => web.kill())
  const worker = await startChildRole('worker', r.workerEnv(redis.url, prefix), logs)
  t.teardown(() => worker.kill())

  const reports = await makeReports(400, r.team.keyring.published, r.wrong.keyring.published, 0)
  const answers: Array<{ status: number, id?: string, phase: string, raw: Buffer }> = []
  let phase = 'before'
  const poster = (async () => {
    for (const report of reports) {
      if (phase === 'done') break
      answers.push({ ...await post(web.url, report.raw), phase, raw: report.raw })
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  })()
  await waitFor(() => answers.filter((a) => a.status === 200).length >= 30, 'some accepted before the outage')
  phase = 'down'
  await redis.stop('SIGKILL')
  await waitFor(() => answers.filter((a) => a.phase === 'down').length >= 20, 'posts during the outage', 60_000)
  await redis.start()
  phase = 'after'
  await waitFor(() => answers.filter((a) => a.phase === 'after' && a.status === 200).length >= 30, 'accepted again after the restart', 60_000)
  phase = 'done'
  await poster

  const byStatus = (s: number) => answers.filter((a) => a.status === s).length
  t.same([...new Set(answers.map((a) => a.status))].sort(), [200, 503], 'only 200 and 503 answers')
  t.ok(answers.filter((a) => a.phase === 'down').some((a) => a.status === 503), 'the outage was answered 503')
  const accepted = answers.flatMap((a) => a.id === undefined ? [] : [a.id])
  t.ok(accepted.length >= 60, `${accepted.length} accepted, ${byStatus(503)} refused with 503`)
  // A report that was being processed when Redis died waits for its report lock (90 s,
  // kept by the AOF) and BullMQ's stalled check before it runs again: minutes, not seconds.
  await waitFor(() => accepted.every((id) => hasAdvisory(r.stub, id)), 'every message answered 200 filed', 300_000)
  // The provider retries what was answered 503: each now gets 200 and is filed once.
  const retried: string[] = []
  for (const a of answers.filter((a) => a.status === 503)) {
    const again = await post(web.url, a.raw)
    t.equal(again.status, 200, 'a retried 503 is taken')
    if (again.id !== undefined) retried.push(again.id)
  }
  const all = new Set([...accepted, ...retried])
  await waitFor(() => [...all].every((id) => hasAdvisory(r.stub, id)), 'every retried message filed', 120_000)
  t.equal(r.stub.advisories.length, all.size, 'and nothing else, nothing twice')
  t.notOk(worker.child.exitCode !== null, 'the worker survived the outage')
  t.same(r.stub.invalidRequests, [])
  await assertCanaryOnlyAtGithub(t, { redisUrl: redis.url, prefix, logs, smtp: r.smtp, stub: r.stub, metrics: await metricsOf([web.url, r.workerMetricsUrl]) })
})
