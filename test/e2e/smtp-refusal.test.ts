// The reporter's mail server refuses our acknowledgement: permanently (5xx) the report
// is still done; temporarily (4xx) the job retries, and the server's reply, which
// quotes the sender-chosen address, never reaches Redis or the logs.
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'
import { plainMessage } from '../helpers/messages.js'
import { dumpValues } from '../helpers/redis.js'
import { progressStore } from '../../src/store/progress.js'

t.test('5xx for the reporter: advisory filed, reply recorded as refused, job complete', async (t) => {
  const smtp = await startSmtpSink({ refuse: { 'gone@example.org': 550 } })
  t.teardown(smtp.close)
  const gw = await startGateway(t, { SMTP_URL: smtp.url })
  const res = await gw.post(plainMessage({ from: 'gone@example.org', messageId: 'refused@example.org' }))
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 1, 'job completed')
  t.same(gw.outbox('advisories'), [`${res.id}.json`])
  const progress = await progressStore(gw.redis, gw.prefix).get(res.id as string)
  t.match(progress['reply.ack'], /^suppressed: refused by the mail server \(550\)/)
})

t.test('4xx for the reporter: retried, and the server reply stays out of Redis and logs', async (t) => {
  const marker = 'reporter-marker-' + Math.random().toString(36).slice(2)
  const address = `${marker}@example.org`
  const smtp = await startSmtpSink({ refuse: { [address]: 451 } })
  t.teardown(smtp.close)
  const gw = await startGateway(t, { SMTP_URL: smtp.url, JOB_ATTEMPTS: '2' })
  const res = await gw.post(plainMessage({ from: address, messageId: 'tempfail@example.org' }))
  const job = await gw.waitFor(async () => { const j = await gw.queue.getJob(res.id as string); return j?.finishedOn !== undefined && j.failedReason ? j : undefined }, 'job failed for good')
  t.equal(job.attemptsMade, 2, 'retried')
  t.match(job.failedReason, /451/)
  t.equal(Buffer.concat(await dumpValues(gw.redis, gw.prefix)).indexOf(marker), -1, 'address quoted by the server not in Redis')
  t.equal(gw.logs.join('').indexOf(marker), -1, 'nor in logs')
})
