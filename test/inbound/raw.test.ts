import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { Queue } from 'bullmq'
import { buildWeb } from '../../src/roles/web.js'
import { createLogger } from '../../src/log.js'
import { generateSealKeyPair, importPrivateKey, importPublicKey, open } from '../../src/seal/hpke.js'
import { signRaw } from '../../src/inbound/hmac.js'
import { QUEUE, gatewayKeys } from '../../src/queue/jobs.js'
import { limits } from '../../src/domain/limits.js'
import { testConfig } from '../helpers/config.js'
import { plainMessage } from '../helpers/messages.js'
import { REDIS_URL, dropPrefix, dumpValues, uniquePrefix } from '../helpers/redis.js'

const secret = 'test-inbound-secret'
const seal = generateSealKeyPair()
const log = createLogger({ level: process.env.TEST_LOG ?? 'silent', production: false })

async function setup (t: Test, env: Record<string, string> = {}) {
  const prefix = uniquePrefix('raw')
  const config = testConfig({ QUEUE_PREFIX: prefix, REDIS_URL, ...env })
  const web = await buildWeb({ config, log, sealPublicKey: importPublicKey(seal.publicKey), inboundSecret: secret })
  const redis = new Redis(REDIS_URL)
  const queue = new Queue(QUEUE, { connection: redis, prefix })
  t.teardown(async () => { await web.close(); await queue.close(); redis.disconnect(); await dropPrefix(prefix) })
  await new Promise((r) => setTimeout(r, 50)) // let the web's Redis connect
  return { web, redis, queue, prefix }
}

function post (web: Awaited<ReturnType<typeof buildWeb>>, body: Buffer, opts: { timestamp?: number, signature?: string, contentType?: string } = {}) {
  const ts = opts.timestamp ?? Math.floor(Date.now() / 1000)
  return web.fastify.inject({
    method: 'POST',
    url: '/inbound/raw',
    headers: {
      'content-type': opts.contentType ?? 'message/rfc822',
      'x-intake-timestamp': String(ts),
      'x-intake-signature': opts.signature ?? signRaw(secret, ts, body)
    },
    payload: body
  })
}


t.test('a signed message is sealed, queued and answered 200 with its id', async (t) => {
  const { web, redis, queue, prefix } = await setup(t)
  const canary = 'CANARY-' + Math.random().toString(36).slice(2)
  const msg = plainMessage({ messageId: 'a1@example.org', body: `secret details ${canary}` })
  const res = await post(web, msg)
  t.equal(res.statusCode, 200)
  const { id } = res.json() as { id: string }
  t.match(id, /^[0-9a-f]{24}$/)
  const job = await queue.getJob(id)
  t.ok(job, 'job queued under the intake id')
  t.same(Object.keys(job?.data ?? {}).sort(), ['intakeId', 'receivedAt', 'source'])
  const sealed = await redis.getBuffer(gatewayKeys(prefix).sealed(id))
  t.ok(sealed)
  t.same(open(importPrivateKey(seal.privateKey), sealed as Buffer, id), msg, 'the worker key opens exactly the posted bytes')
  const everything = Buffer.concat(await dumpValues(redis, prefix))
  t.equal(everything.indexOf(canary), -1, 'no plaintext anywhere under the prefix')
})

t.test('redelivery answers the same id and queues nothing', async (t) => {
  const { web, queue } = await setup(t)
  const first = await post(web, plainMessage({ messageId: 'same@example.org' }))
  // Same Message-ID, bytes changed by a relay (extra Received header): still the same message.
  const again = await post(web, Buffer.concat([Buffer.from('Received: from relay\r\n'), plainMessage({ messageId: 'same@example.org' })]))
  t.equal(again.statusCode, 200)
  t.equal(again.json().id, first.json().id)
  // Without a Message-ID the bytes decide.
  const a = await post(web, plainMessage({ body: 'one' }))
  const a2 = await post(web, plainMessage({ body: 'one' }))
  const b = await post(web, plainMessage({ body: 'two' }))
  t.equal(a.json().id, a2.json().id)
  t.not(a.json().id, b.json().id)
  // Same Message-ID with another body is another message, not a redelivery.
  const other = await post(web, plainMessage({ messageId: 'same@example.org', body: 'a different report' }))
  t.equal(other.statusCode, 200)
  t.not(other.json().id, first.json().id)
  t.equal(await queue.count(), 4, 'four distinct messages queued once each')
})

t.test('an interrupted earlier delivery\'s sealed copy is never replaced', async (t) => {
  const { web, redis, prefix } = await setup(t)
  const msg = plainMessage({ messageId: 'nx@example.org' })
  const id = (await post(web, msg)).json().id as string
  const before = await redis.getBuffer(gatewayKeys(prefix).sealed(id))
  await redis.del(`${prefix}:gw:seen:` + (await import('../../src/inbound/intake.js')).deliveryHash(msg)) // as if the marker write had failed
  t.equal((await post(web, msg)).json().id, id)
  t.same(await redis.getBuffer(gatewayKeys(prefix).sealed(id)), before, 'same sealed bytes (not re-sealed)')
})

t.test('authentication: bad, missing, stale signatures are 401 and queue nothing', async (t) => {
  const { web, queue } = await setup(t)
  const msg = plainMessage({ messageId: 'auth@example.org' })
  t.equal((await post(web, msg, { signature: 'v1=' + '0'.repeat(64) })).statusCode, 401)
  t.equal((await post(web, msg, { signature: signRaw('other-secret', Math.floor(Date.now() / 1000), msg) })).statusCode, 401)
  const old = Math.floor(Date.now() / 1000) - 301
  t.equal((await post(web, msg, { timestamp: old, signature: signRaw(secret, old, msg) })).statusCode, 401, 'outside the 300 s window')
  const future = Math.floor(Date.now() / 1000) + 301
  t.equal((await post(web, msg, { timestamp: future, signature: signRaw(secret, future, msg) })).statusCode, 401)
  const res = await web.fastify.inject({ method: 'POST', url: '/inbound/raw', headers: { 'content-type': 'message/rfc822' }, payload: msg })
  t.equal(res.statusCode, 401)
  // Signature over other bytes than the ones posted.
  const ts = Math.floor(Date.now() / 1000)
  t.equal((await post(web, Buffer.concat([msg, Buffer.from('x')]), { timestamp: ts, signature: signRaw(secret, ts, msg) })).statusCode, 401)
  t.equal(await queue.count(), 0)
})

t.test('unsigned requests are refused before their body is read', async (t) => {
  const { web } = await setup(t)
  // Over the body limit: a 401 rather than 413 shows the check ran before the body was read.
  const big = Buffer.alloc(limits.rawMessageBytes + 1, 'a')
  const res = await web.fastify.inject({ method: 'POST', url: '/inbound/raw', headers: { 'content-type': 'message/rfc822' }, payload: big })
  t.equal(res.statusCode, 401)
  const stale = await web.fastify.inject({ method: 'POST', url: '/inbound/raw', headers: { 'content-type': 'message/rfc822', 'x-intake-timestamp': '1', 'x-intake-signature': 'v1=' + '0'.repeat(64) }, payload: big })
  t.equal(stale.statusCode, 401)
})

t.test('content is never refused: not mail and no From are stored; empty is 400; too large is 413', async (t) => {
  const { web, queue } = await setup(t)
  t.equal((await post(web, Buffer.from('hello, this is not mail'))).statusCode, 200)
  t.equal((await post(web, Buffer.from('Subject: no from header\r\n\r\nbody'))).statusCode, 200)
  t.equal((await post(web, Buffer.alloc(0))).statusCode, 400)
  const big = Buffer.alloc(limits.rawMessageBytes + 1, 'a')
  t.equal((await post(web, big)).statusCode, 413)
  t.equal(await queue.count(), 2)
})

t.test('Redis down: 503 at once, never 200', async (t) => {
  const config = testConfig({ QUEUE_PREFIX: uniquePrefix('down'), REDIS_URL: 'redis://127.0.0.1:1' })
  const web = await buildWeb({ config, log, sealPublicKey: importPublicKey(seal.publicKey), inboundSecret: secret })
  t.teardown(web.close)
  const res = await post(web, plainMessage({ messageId: 'down@example.org' }))
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '60')
})

t.test('without a secret the endpoint does not exist', async (t) => {
  const config = testConfig({ QUEUE_PREFIX: uniquePrefix('nosecret'), REDIS_URL })
  const web = await buildWeb({ config, log, sealPublicKey: importPublicKey(seal.publicKey) })
  t.teardown(async () => { await web.close(); await dropPrefix(config.queuePrefix) }) // the queue writes its meta key
  const res = await web.fastify.inject({ method: 'POST', url: '/inbound/raw', headers: { 'content-type': 'message/rfc822' }, payload: plainMessage() })
  t.equal(res.statusCode, 404)
})
