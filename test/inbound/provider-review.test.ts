// Regressions found in the review of the provider adapters (issue 4): each test here
// failed before its fix.
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { Queue } from 'bullmq'
import { buildWeb } from '../../src/roles/web.js'
import { createLogger } from '../../src/log.js'
import { generateSealKeyPair, importPublicKey } from '../../src/seal/hpke.js'
import { QUEUE } from '../../src/queue/jobs.js'
import { testConfig } from '../helpers/config.js'
import { plainMessage } from '../helpers/messages.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'
import { BASIC, MAILGUN_KEY, TOPIC, mailgunFields, postmarkJson, urlencodedForm, type Request, type SnsSigner } from '../helpers/providers.js'

const seal = generateSealKeyPair()
const log = createLogger({ level: process.env.TEST_LOG ?? 'silent', production: false })

async function setup (t: Test, env: Record<string, string> = {}, signer?: SnsSigner) {
  const prefix = uniquePrefix('provrev')
  const config = testConfig({ QUEUE_PREFIX: prefix, REDIS_URL, MAILGUN_SIGNING_KEY: MAILGUN_KEY, INBOUND_BASIC_AUTH: BASIC, SES_TOPIC_ARN: TOPIC, ...env })
  const web = await buildWeb({ config, log, sealPublicKey: importPublicKey(seal.publicKey), ...(signer ? { fetchText: signer.fetchText } : {}) })
  const redis = new Redis(REDIS_URL)
  const queue = new Queue(QUEUE, { connection: redis, prefix })
  t.teardown(async () => { await web.close(); await queue.close(); redis.disconnect(); await dropPrefix(prefix) })
  const post = (url: string, req: Request) => web.fastify.inject({ method: 'POST', url, headers: req.headers, payload: req.payload })
  return { web, redis, queue, prefix, post }
}

t.test('Postmark: fields of the wrong type are a 400, never a 500', async (t) => {
  const { post, queue } = await setup(t)
  const raw = plainMessage({ messageId: 'pm-shape@example.org' })
  for (const bad of [{ Headers: 'x' }, { ToFull: 'security@stacklok.com' }, { CcFull: {} }, { Attachments: {} }, { Attachments: [null] }, { Subject: {} }, { FromFull: 'x' }, { RawEmail: {} }]) {
    const res = await post('/inbound/postmark', postmarkJson(undefined, bad))
    t.equal(res.statusCode, 400, JSON.stringify(bad))
  }
  t.equal((await post('/inbound/postmark', postmarkJson(raw, { ToFull: 'x' }))).statusCode, 400, 'with RawEmail too')
  t.equal(await queue.count(), 0)
  // Nulls and scalars where a string is expected are taken, not crashed on.
  for (const odd of [{ Headers: [null], ToFull: [null] }, { Attachments: [{ Content: 5 }] }, { Cc: null, ReplyTo: null }]) {
    t.equal((await post('/inbound/postmark', postmarkJson(undefined, odd))).statusCode, 200, JSON.stringify(odd))
  }
  // Content is never a reason to refuse (issue 15): the worker files it without a sender.
  t.equal((await post('/inbound/postmark', postmarkJson(undefined, { From: 5 }))).statusCode, 200, 'no usable From address: stored all the same')
  t.equal((await post('/inbound/postmark', postmarkJson(raw))).statusCode, 200, 'a well-formed post still passes')
})

t.test('Postmark rebuild without any Message-ID is still deterministic: a redelivery is one intake', async (t) => {
  const { post, queue } = await setup(t)
  const parsed = postmarkJson(undefined, { MessageID: undefined, Headers: [{ Name: 'X-Spam-Status', Value: 'No' }] })
  const first = await post('/inbound/postmark', parsed)
  t.equal(first.statusCode, 200, first.body)
  t.equal((await post('/inbound/postmark', parsed)).json().id, first.json().id)
  t.equal(await queue.count(), 1)
})

t.test('SES: an unauthenticated post cannot make us buffer INBOUND_MAX_MB of JSON (SNS messages are at most 256 KB)', async (t) => {
  const { post } = await setup(t)
  const big = { payload: Buffer.from(JSON.stringify({ Type: 'Notification', Message: 'x'.repeat(2 * 1024 * 1024) })), headers: { 'content-type': 'text/plain; charset=UTF-8' } }
  t.equal((await post('/inbound/ses', big)).statusCode, 413)
})

t.test('Mailgun: a replayed token is bound to the exact bytes, not only to Message-ID and body (the verdict headers are not covered)', async (t) => {
  const Fastify = (await import('fastify')).default
  const { app } = await import('../../src/roles/web-app.js')
  const prefix = uniquePrefix('mgbytes')
  const redis = new Redis(REDIS_URL)
  await new Promise((r) => redis.once('ready', r))
  const accepted: Buffer[] = []
  // The first queue write fails (503): the signed request is still replayable for 5 minutes.
  const accept = async (raw: Buffer) => { accepted.push(raw); if (accepted.length === 1) throw new Error('queue write failed'); return { id: 'b'.repeat(24), duplicate: false } }
  const { createMetrics } = await import('../../src/ops/metrics.js')
  const ops = { metrics: createMetrics({ defaultMetrics: false }), readiness: async () => ({ ok: true, checks: {} }), queues: [], production: false, dashboardReadOnly: true, maxEventLoopDelayMs: 1000 }
  const fastify = Fastify()
  await fastify.register(app, { config: testConfig({ QUEUE_PREFIX: prefix, REDIS_URL, MAILGUN_SIGNING_KEY: MAILGUN_KEY }), redis, accept, ops })
  t.teardown(async () => { await fastify.close(); redis.disconnect(); await dropPrefix(prefix) })
  const spam = Buffer.from('X-Mailgun-Sflag: Yes\r\n' + plainMessage({ messageId: 'mg-spam@example.org' }).toString())
  const fields = mailgunFields(spam, { token: 'tok-bytes' })
  const send = async (raw: Buffer) => {
    const req = urlencodedForm(fields.map((f) => f.name === 'body-mime' ? { ...f, value: raw } : f))
    return await fastify.inject({ method: 'POST', url: '/inbound/mailgun/mime', headers: req.headers, payload: req.payload })
  }
  t.equal((await send(spam)).statusCode, 503)
  const stripped = Buffer.from(spam.toString().replace('X-Mailgun-Sflag: Yes\r\n', ''))
  t.equal((await send(stripped)).statusCode, 401, 'the same message without the spam flag is another message for the token')
  t.equal((await send(spam)).statusCode, 200, 'Mailgun\'s own retry passes')
  t.same(accepted.map((r) => r.equals(spam)), [true, true], 'only the bytes first delivered with the token were ever taken')
})

t.test('SNS certificate fetch reads at most 16 KiB, whatever the server streams', async (t) => {
  const { createServer } = await import('node:http')
  const { defaultFetchText } = await import('../../src/inbound/sns-verify.js')
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/x-pem-file' })
    const more = () => { while (res.write(Buffer.alloc(4096, 'A'))); }
    res.on('drain', more)
    more() // never ends
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  const { port } = server.address() as { port: number }
  await t.rejects(defaultFetchText(10000)(`http://127.0.0.1:${port}/cert.pem`), /certificate too large/)
})
