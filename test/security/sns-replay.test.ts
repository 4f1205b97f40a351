// Issue 15, finding 7: a signed SNS notification with a 2019 or non-date Timestamp was
// accepted and its MessageId not remembered, so a captured post could be replayed, and
// filed the report again once the intake's 90-day redelivery marker had expired.
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { Queue } from 'bullmq'
import { buildWeb } from '../../src/roles/web.js'
import { createLogger } from '../../src/log.js'
import { generateSealKeyPair, importPublicKey } from '../../src/seal/hpke.js'
import { QUEUE } from '../../src/queue/jobs.js'
import { testConfig } from '../helpers/config.js'
import { plainMessage } from '../helpers/messages.js'
import { REDIS_URL, dropPrefix, keysUnder, uniquePrefix } from '../helpers/redis.js'
import { TOPIC, sesNotification, snsSigner, type Request, type SnsSigner } from '../helpers/providers.js'

const log = createLogger({ level: process.env.TEST_LOG ?? 'silent', production: false })

async function setup (t: Test, signer: SnsSigner) {
  const prefix = uniquePrefix('sns-replay')
  const config = testConfig({ QUEUE_PREFIX: prefix, REDIS_URL, SES_TOPIC_ARN: TOPIC })
  const web = await buildWeb({ config, log, sealPublicKey: importPublicKey(generateSealKeyPair().publicKey), fetchText: signer.fetchText })
  const redis = new Redis(REDIS_URL)
  const queue = new Queue(QUEUE, { connection: redis, prefix })
  t.teardown(async () => { await web.close(); await queue.close(); redis.disconnect(); await dropPrefix(prefix) })
  await new Promise((resolve) => setTimeout(resolve, 50))
  const post = (req: Request) => web.fastify.inject({ method: 'POST', url: '/inbound/ses', headers: req.headers, payload: req.payload })
  return { redis, queue, prefix, post }
}

t.test('a Timestamp from 2019, in the future or not a date is refused before any fetch', async (t) => {
  const signer = await snsSigner()
  const { post, queue } = await setup(t, signer)
  const msg = plainMessage({ messageId: 'sns-stale@example.org' })
  const hourAgo = (h: number) => new Date(Date.now() - h * 3600_000).toISOString()
  for (const timestamp of ['2019-03-01T10:00:00.000Z', hourAgo(3), hourAgo(-1), 'yesterday', '2026-13-45T99:00:00Z', '1700000000', '']) {
    const res = await post(sesNotification(signer, msg, { timestamp, snsMessageId: `stale-${timestamp}` }))
    t.equal(res.statusCode, 401, `Timestamp "${timestamp}" refused`)
  }
  t.same(signer.fetches, [], 'no certificate fetched for any of them')
  t.equal(await queue.count(), 0)
  const fresh = await post(sesNotification(signer, msg, { timestamp: hourAgo(1.5), snsMessageId: 'fresh' }))
  t.equal(fresh.statusCode, 200, 'an SNS retry 90 minutes after signing is still taken')
})

t.test('a MessageId is taken once: a replay answers the first answer and queues nothing, even after the intake marker is gone', async (t) => {
  const signer = await snsSigner()
  const { post, queue, redis, prefix } = await setup(t, signer)
  const captured = sesNotification(signer, plainMessage({ messageId: 'sns-replayed@example.org' }), { snsMessageId: 'captured-1' })
  const first = await post(captured)
  t.equal(first.statusCode, 200, first.body)
  const id = (first.json() as { id: string }).id
  // 90 days on: the report was processed, its job removed, the redelivery marker expired.
  const job = await queue.getJob(id)
  await job?.remove()
  for (const key of await keysUnder(redis, `${prefix}:gw:seen`)) await redis.del(key)
  t.equal(await queue.count(), 0)

  const replay = await post(captured)
  t.equal(replay.statusCode, 200, 'answered so SNS stops')
  t.same(replay.json(), { id }, 'the first answer')
  t.equal(await queue.count(), 0, 'nothing queued again')
  const ttl = await redis.ttl((await keysUnder(redis, `${prefix}:gw:sns`))[0] ?? '')
  t.ok(ttl > 2 * 3600, `the MessageId is remembered longer than the Timestamp window (${ttl} s)`)
})

t.test('a post whose first delivery is still in flight gets 503; a MessageId whose answer was not 2xx is free again', async (t) => {
  const signer = await snsSigner()
  const { post, queue, redis, prefix } = await setup(t, signer)
  const msg = sesNotification(signer, plainMessage({ messageId: 'sns-inflight@example.org' }), { snsMessageId: 'inflight-1' })
  // Another web process holds the claim (its answer not yet given).
  const first = await post(msg)
  t.equal(first.statusCode, 200)
  const [key] = await keysUnder(redis, `${prefix}:gw:sns`)
  await redis.set(key ?? '', 'pending', 'EX', 60)
  const busy = await post(msg)
  t.equal(busy.statusCode, 503, 'SNS retries it later')
  t.ok(busy.headers['retry-after'] !== undefined)

  // No content: 400. The claim is released, not kept as the answer.
  const noContent = signer.sign({ Type: 'Notification', MessageId: 'no-content', TopicArn: TOPIC, Message: JSON.stringify({ notificationType: 'Received' }), Timestamp: new Date().toISOString() })
  const req = { payload: Buffer.from(JSON.stringify(noContent)), headers: { 'content-type': 'text/plain; charset=UTF-8' } }
  t.equal((await post(req)).statusCode, 400)
  t.equal((await post(req)).statusCode, 400, 'handled again, not answered from a stored 400')
  t.equal(await queue.count(), 1)
})
