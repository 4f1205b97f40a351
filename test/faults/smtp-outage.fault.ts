// The SMTP server is down while reports arrive: advisories are filed regardless, and the
// acknowledgements go out once it is back (each exactly once).
import t from 'tap'
import { startChildRole } from '../helpers/child-gateway.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'
import { acknowledgements, advisedIntakes, assertCanaryOnlyAtGithub, makeReports, postAll, rig, waitFor, metricsOf } from './harness.js'

const COUNT = 60

t.test('SMTP down for a window: advisories unaffected, acknowledgements delivered after', async (t) => {
  const r = await rig(t)
  const prefix = uniquePrefix('fault-smtp')
  t.teardown(() => dropPrefix(prefix))
  const logs: string[] = []
  const web = await startChildRole('web', r.webEnv(REDIS_URL, prefix), logs)
  t.teardown(() => web.kill())
  const worker = await startChildRole('worker', r.workerEnv(REDIS_URL, prefix), logs)
  t.teardown(() => worker.kill())

  await r.smtp.close()
  const reports = await makeReports(COUNT, r.team.keyring.published, r.wrong.keyring.published, 0)
  const { ids, refused } = await postAll(web.url, reports)
  t.equal(refused, 0)
  await waitFor(() => r.stub.advisories.length >= COUNT, 'every advisory, with SMTP down')
  t.equal(r.smtp.messages.length, 0, 'no mail while the server is down')
  t.same(new Set(advisedIntakes(r.stub)), new Set(ids), 'one advisory per report')

  const back = await startSmtpSink({ port: r.smtp.port, messages: r.smtp.messages })
  t.teardown(back.close)
  await waitFor(() => acknowledgements(r.smtp).distinct.size >= COUNT, 'every acknowledgement after the server returned')
  const acks = acknowledgements(r.smtp)
  t.equal(acks.distinct.size, COUNT)
  t.equal(acks.deliveries, COUNT, 'each delivered once')
  await waitFor(() => r.smtp.messages.length >= 2 * COUNT, 'the team notices too')
  t.equal(r.stub.advisories.length, COUNT, 'retries of the mail step filed nothing again')
  t.same(r.stub.invalidRequests, [])
  await assertCanaryOnlyAtGithub(t, { redisUrl: REDIS_URL, prefix, logs, smtp: r.smtp, stub: r.stub, metrics: await metricsOf([web.url, r.workerMetricsUrl]) })
})
