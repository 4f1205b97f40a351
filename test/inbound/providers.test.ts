// Each provider's request, as its documentation describes it, becomes the same sealed,
// queued intake as /inbound/raw: the exact bytes, the provider's envelope and verdicts
// sealed beside them (nothing identifying in clear), refused when forged or replayed.
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { Queue } from 'bullmq'
import { buildWeb } from '../../src/roles/web.js'
import { createLogger } from '../../src/log.js'
import { generateSealKeyPair, importPrivateKey, importPublicKey, open } from '../../src/seal/hpke.js'
import { unpackPayload } from '../../src/seal/payload.js'
import { mailgunSignature } from '../../src/inbound/mailgun.js'
import { QUEUE, gatewayKeys } from '../../src/queue/jobs.js'
import { testConfig } from '../helpers/config.js'
import { plainMessage } from '../helpers/messages.js'
import { REDIS_URL, dropPrefix, dumpValues, uniquePrefix } from '../helpers/redis.js'
import {
  BASIC, CERT_URL, MAILGUN_KEY, TOPIC, basicHeader, mailgunFields, multipartForm, postmarkJson, sendgridForm, sesNotification,
  snsSigner, urlencodedForm, type Request, type SnsSigner
} from '../helpers/providers.js'

const seal = generateSealKeyPair()
const log = createLogger({ level: process.env.TEST_LOG ?? 'silent', production: false })
const PROVIDER_ENV = { MAILGUN_SIGNING_KEY: MAILGUN_KEY, INBOUND_BASIC_AUTH: BASIC, SES_TOPIC_ARN: TOPIC }

/** A message with 8-bit bytes that are not UTF-8 (Latin-1 é, a lone 0xff), CRLF line ends. */
function eightBit (id: string, extra = ''): Buffer {
  return Buffer.concat([
    Buffer.from(`From: Reporter <reporter@example.org>\r\nTo: security@stacklok.com\r\nSubject: 8bit\r\nMessage-ID: <${id}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n${extra}\r\nCaf`),
    Buffer.from([0xe9, 0x20, 0xff, 0x80, 0x0d, 0x0a]),
    Buffer.from('line two\r\n')
  ])
}

async function setup (t: Test, env: Record<string, string> = {}, signer?: SnsSigner) {
  const prefix = uniquePrefix('prov')
  const config = testConfig({ QUEUE_PREFIX: prefix, REDIS_URL, ...PROVIDER_ENV, ...env })
  const web = await buildWeb({ config, log, sealPublicKey: importPublicKey(seal.publicKey), ...(signer ? { fetchText: signer.fetchText } : {}), ...(config.inboundSecret !== undefined ? { inboundSecret: config.inboundSecret } : {}) })
  const redis = new Redis(REDIS_URL)
  const queue = new Queue(QUEUE, { connection: redis, prefix })
  t.teardown(async () => { await web.close(); await queue.close(); redis.disconnect(); await dropPrefix(prefix) })
  await new Promise((r) => setTimeout(r, 50))
  const post = (url: string, req: Request) => web.fastify.inject({ method: 'POST', url, headers: req.headers, payload: req.payload })
  const sealed = async (id: string) => unpackPayload(open(importPrivateKey(seal.privateKey), (await redis.getBuffer(gatewayKeys(prefix).sealed(id))) as Buffer, id))
  return { web, redis, queue, prefix, post, sealed }
}

t.test('Mailgun signature: the reference test vector', async (t) => {
  t.equal(mailgunSignature('tbsy84uSV1Kt3ZJZELY2TmShPRs91E3yL4tzf96297vBCkDWgL', '1539112500', '7VwW7k6Ak7zcTwoSoNm7aTtbk1g67MKAnsYLfUB7PdszbgR5Xi'),
    'ef24c5225322217bb065b80bb54eb4f9206d764e3e16abab07f0a64d1cf477cc')
})

t.test('Mailgun urlencoded and multipart: 8-bit bytes sealed exactly, envelope sealed, nothing identifying in clear', async (t) => {
  const { post, queue, sealed, redis, prefix } = await setup(t)
  const a = eightBit('mg-url@example.org')
  const r1 = await post('/inbound/mailgun/mime', urlencodedForm(mailgunFields(a)))
  t.equal(r1.statusCode, 200, r1.body)
  const one = await sealed(r1.json().id)
  t.same(one.raw, a, 'urlencoded: the exact bytes')
  t.same(one.meta?.envelope, { to: ['security@stacklok.com'], from: 'reporter@example.org' })
  const b = eightBit('mg-multi@example.org')
  const r2 = await post('/inbound/mailgun/mime', multipartForm(mailgunFields(b)))
  t.equal(r2.statusCode, 200, r2.body)
  t.same((await sealed(r2.json().id)).raw, b, 'multipart: the exact bytes')
  t.equal(await queue.count(), 2)
  const job = await queue.getJob(r2.json().id)
  t.same(Object.keys(job?.data ?? {}).sort(), ['intakeId', 'receivedAt', 'source'])
  t.equal(job?.data.source, 'mailgun')
  const everything = Buffer.concat(await dumpValues(redis, prefix))
  t.equal(everything.indexOf('reporter@example.org'), -1, 'no sender address in clear under the prefix')
  t.equal(everything.indexOf('line two'), -1, 'no content in clear')
})

t.test('Mailgun replay: forged, stale, token reused with another body; redelivery with a new token', async (t) => {
  const { post, queue } = await setup(t)
  const msg = plainMessage({ messageId: 'mg-replay@example.org' })
  const fields = mailgunFields(msg, { token: 'tok-1' })
  const first = await post('/inbound/mailgun/mime', urlencodedForm(fields))
  t.equal(first.statusCode, 200)
  const id = first.json().id

  // The signature covers timestamp + token only: the same signed token with another body.
  const other = plainMessage({ messageId: 'mg-evil@example.org', body: 'something else' })
  const forgedBody = fields.map((f) => f.name === 'body-mime' ? { ...f, value: other } : f)
  const replayed = await post('/inbound/mailgun/mime', urlencodedForm(forgedBody))
  t.equal(replayed.statusCode, 401, 'token already used: refused')
  t.same(replayed.json(), { error: 'authentication failed' }, 'no detail')
  // The same token with the same body (Mailgun retrying after a lost answer): same id, nothing queued.
  const again = await post('/inbound/mailgun/mime', urlencodedForm(fields))
  t.equal(again.statusCode, 200)
  t.equal(again.json().id, id)
  // A new delivery of the same message (new token and signature): dedup answers the same id.
  const redelivered = await post('/inbound/mailgun/mime', urlencodedForm(mailgunFields(msg)))
  t.equal(redelivered.json().id, id)

  const stale = Math.floor(Date.now() / 1000) - 301
  t.equal((await post('/inbound/mailgun/mime', urlencodedForm(mailgunFields(other, { timestamp: stale })))).statusCode, 401, 'timestamp older than 5 minutes')
  t.equal((await post('/inbound/mailgun/mime', urlencodedForm(mailgunFields(other, { key: 'wrong-key' })))).statusCode, 401, 'wrong key')
  t.equal((await post('/inbound/mailgun/mime', urlencodedForm(mailgunFields(other).filter((f) => f.name !== 'signature')))).statusCode, 401, 'no signature')
  t.equal(await queue.count(), 1, 'one message queued, once')
})

t.test('SendGrid raw mode: basic auth, 8-bit bytes, a 25 MB attachment neither refused nor truncated, verdicts sealed', async (t) => {
  const { post, queue, sealed, web } = await setup(t)
  const msg = eightBit('sg-1@example.org')
  const req = sendgridForm(msg, { spamScore: '1.2', spf: 'pass' })
  const noAuth = await post('/inbound/sendgrid', { ...req, headers: { ...req.headers, authorization: basicHeader('inbound:wrong') } })
  t.equal(noAuth.statusCode, 401)
  t.equal(noAuth.headers['www-authenticate'], 'Basic realm="inbound", charset="UTF-8"')
  t.equal((await web.fastify.inject({ method: 'POST', url: '/inbound/sendgrid', headers: { 'content-type': req.headers['content-type'] as string }, payload: req.payload })).statusCode, 401, 'no credentials')
  const ok = await post('/inbound/sendgrid', req)
  t.equal(ok.statusCode, 200, ok.body)
  const s = await sealed(ok.json().id)
  t.same(s.raw, msg, 'exact bytes')
  t.same(s.meta?.verdicts, { spamScore: 1.2, spf: 'pass', dkim: 'pass' })
  t.same(s.meta?.envelope, { to: ['security@stacklok.com'], from: 'reporter@example.org' })

  const attachment = Buffer.alloc(25 * 1024 * 1024)
  for (let i = 0; i < attachment.length; i += 4096) attachment[i] = i & 0xff
  const big = Buffer.concat([
    Buffer.from('From: Reporter <reporter@example.org>\r\nTo: security@stacklok.com\r\nSubject: big\r\nMessage-ID: <sg-big@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nCaf'),
    Buffer.from([0xe9, 0x0d, 0x0a]),
    Buffer.from('--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="core.bin"\r\n\r\n'),
    Buffer.from(attachment.toString('base64').replace(/.{76}/g, '$&\r\n')),
    Buffer.from('\r\n--b1--\r\n')
  ])
  t.ok(big.length > 30 * 1000 * 1000, `message of ${big.length} bytes`)
  const res = await post('/inbound/sendgrid', sendgridForm(big))
  t.equal(res.statusCode, 200, res.body)
  t.ok((await sealed(res.json().id)).raw.equals(big), 'the whole message, byte for byte')
  t.equal(await queue.count(), 2)
})

t.test('Postmark: RawEmail when present; otherwise a deterministic rebuild marked as such', async (t) => {
  const { post, sealed, queue, web } = await setup(t)
  const raw = plainMessage({ messageId: 'pm-raw@example.org', body: 'Grüße, a UTF-8 report' })
  const withRaw = await post('/inbound/postmark', postmarkJson(raw))
  t.equal(withRaw.statusCode, 200, withRaw.body)
  const s = await sealed(withRaw.json().id)
  t.same(s.raw, raw)
  t.equal(s.meta?.rebuilt, undefined)
  t.equal(s.meta?.providerMessageId, '73e6d360-66eb-11e1-8e72-a8904824019b')
  t.same(s.meta?.verdicts, { spamScore: -0.1 })

  const parsed = postmarkJson(undefined, { Attachments: [{ Name: 'poc.txt', Content: Buffer.from('proof').toString('base64'), ContentType: 'text/plain', ContentLength: 5 }] })
  const rebuilt = await post('/inbound/postmark', parsed)
  t.equal(rebuilt.statusCode, 200, rebuilt.body)
  const r = await sealed(rebuilt.json().id)
  t.equal(r.meta?.rebuilt, true)
  t.match(r.raw.toString(), /Message-ID: <pm-1@example.org>/)
  t.match(r.raw.toString(), /X-Spam-Status: No/)
  t.match(r.raw.toString(), /filename=poc.txt/)
  const again = await post('/inbound/postmark', parsed)
  t.equal(again.json().id, rebuilt.json().id, 'a redelivery rebuilds the same bytes: same id')
  t.equal(await queue.count(), 2)
  const noAuth = await web.fastify.inject({ method: 'POST', url: '/inbound/postmark', headers: { 'content-type': 'application/json' }, payload: parsed.payload })
  t.equal(noAuth.statusCode, 401)
})

t.test('SES via SNS: signature versions 1 and 2, Base64 and UTF-8 content, certificate cached', async (t) => {
  const signer = await snsSigner()
  const { post, sealed, queue } = await setup(t, {}, signer)
  const a = eightBit('ses-1@example.org')
  const r1 = await post('/inbound/ses', sesNotification(signer, a, { version: '1' }))
  t.equal(r1.statusCode, 200, r1.body)
  const s = await sealed(r1.json().id)
  t.same(s.raw, a, 'Base64 content: exact bytes')
  t.equal(s.meta?.providerMessageId, 'ses-m1')
  t.same(s.meta?.verdicts, { spf: 'pass', dkim: 'pass', dmarc: 'pass', virus: 'pass' })
  const b = plainMessage({ messageId: 'ses-2@example.org', body: 'Grüße' })
  const r2 = await post('/inbound/ses', sesNotification(signer, b, { version: '2', encoding: 'UTF8', snsMessageId: 'm2' }))
  t.equal(r2.statusCode, 200, r2.body)
  t.same((await sealed(r2.json().id)).raw, b, 'UTF-8 content')
  t.same(signer.fetches, [CERT_URL], 'the certificate was fetched once')
  // SNS retries carry the same message: one intake.
  t.equal((await post('/inbound/ses', sesNotification(signer, a, { version: '1' }))).json().id, r1.json().id)
  t.equal(await queue.count(), 2)
})

t.test('SES via SNS: forged, foreign topic, foreign certificate host refused with 401', async (t) => {
  const signer = await snsSigner()
  const { post, queue } = await setup(t, {}, signer)
  const msg = plainMessage({ messageId: 'ses-forged@example.org' })
  const good = sesNotification(signer, msg)
  const body = JSON.parse(good.payload.toString())
  const tampered = { ...body, Message: body.Message.replace('"PASS"', '"FAIL"') }
  t.equal((await post('/inbound/ses', { ...good, payload: Buffer.from(JSON.stringify(tampered)) })).statusCode, 401, 'signature does not cover the change')
  const other = await snsSigner() // a certificate the forger made, at an allowed URL: still not the fetched one
  t.equal((await post('/inbound/ses', sesNotification(other, msg))).statusCode, 401)
  t.equal((await post('/inbound/ses', sesNotification(signer, msg, { topic: 'arn:aws:sns:us-east-1:123456789012:other' }))).statusCode, 401, 'unexpected TopicArn')
  for (const url of ['http://sns.us-east-1.amazonaws.com/cert.pem', 'https://evil.example/sns.us-east-1.amazonaws.com.pem', 'https://sns.us-east-1.amazonaws.com.evil.example/a.pem', 'https://sns.us-east-1.amazonaws.com/cert.txt', 'https://sns.eu-west-1.amazonaws.com/cert.pem']) {
    const m = signer.sign({ Type: 'Notification', MessageId: 'x', TopicArn: TOPIC, Message: JSON.parse(good.payload.toString()).Message, Timestamp: new Date().toISOString(), SigningCertURL: url })
    t.equal((await post('/inbound/ses', { ...good, payload: Buffer.from(JSON.stringify(m)) })).statusCode, 401, `certificate URL refused: ${url}`)
  }
  t.same(signer.fetches.filter((u) => u !== CERT_URL), [], 'no other URL was ever fetched')
  t.equal(await queue.count(), 0)
})

t.test('SES via SNS: SubscriptionConfirmation logged for the operator, or confirmed when allowed', async (t) => {
  const signer = await snsSigner()
  const subscribeUrl = 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=' + encodeURIComponent(TOPIC) + '&Token=abc'
  const confirmation = () => {
    const m = signer.sign({ Type: 'SubscriptionConfirmation', MessageId: 'c1', TopicArn: TOPIC, Token: 'abc', Message: 'You have chosen to subscribe...', SubscribeURL: subscribeUrl, Timestamp: new Date().toISOString() })
    return { payload: Buffer.from(JSON.stringify(m)), headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'SubscriptionConfirmation' } }
  }
  const manual = await setup(t, {}, signer)
  const r = await manual.post('/inbound/ses', confirmation())
  t.equal(r.statusCode, 200)
  t.same(r.json(), { ok: true, confirmed: false })
  t.notOk(signer.fetches.includes(subscribeUrl), 'not fetched without SES_CONFIRM_SUBSCRIPTION')
  const auto = await setup(t, { SES_CONFIRM_SUBSCRIPTION: 'true' }, signer)
  const r2 = await auto.post('/inbound/ses', confirmation())
  t.same(r2.json(), { ok: true, confirmed: true })
  t.ok(signer.fetches.includes(subscribeUrl), 'SubscribeURL fetched')
})

t.test('recipients: mail for another address is dropped the way each provider stops retrying, counted, never queued', async (t) => {
  const signer = await snsSigner()
  const { post, queue, redis, prefix } = await setup(t, { SECURITY_ALIASES: 'psirt@stacklok.com, Security@Other.example' }, signer)
  const stranger = Buffer.from(plainMessage({ messageId: 'stranger@example.org' }).toString().replace('To: security@stacklok.com', 'To: sales@stacklok.com'))
  const mg = await post('/inbound/mailgun/mime', urlencodedForm(mailgunFields(stranger, { recipient: 'sales@stacklok.com' })))
  t.equal(mg.statusCode, 406, 'Mailgun: 406 is not retried')
  const sg = await post('/inbound/sendgrid', sendgridForm(stranger, { envelopeTo: ['sales@stacklok.com'] }))
  t.equal(sg.statusCode, 200, 'SendGrid retries 5xx only')
  t.match(sg.json(), { dropped: String })
  const pm = await post('/inbound/postmark', postmarkJson(stranger, { OriginalRecipient: 'sales@stacklok.com', ToFull: [{ Email: 'sales@stacklok.com' }] }))
  t.equal(pm.statusCode, 403, 'Postmark: 403 stops retries')
  const ses = await post('/inbound/ses', sesNotification(signer, stranger, { recipients: ['sales@stacklok.com'] }))
  t.equal(ses.statusCode, 200)
  t.equal(await queue.count(), 0, 'nothing queued')
  t.same(await redis.hgetall(`${prefix}:gw:dropped`), { 'mailgun:recipient': '1', 'sendgrid:recipient': '1', 'postmark:recipient': '1', 'ses:recipient': '1' })

  // An alias in the envelope only (Bcc), and an alias in Cc.
  const bcc = await post('/inbound/sendgrid', sendgridForm(stranger, { envelopeTo: ['PSIRT@stacklok.com'] }))
  t.equal(bcc.statusCode, 200)
  t.match(bcc.json(), { id: String })
  const cc = Buffer.from(plainMessage({ messageId: 'cc@example.org' }).toString().replace('To: security@stacklok.com', 'To: sales@stacklok.com\r\nCc: "Sec" <security@other.example>'))
  t.match((await post('/inbound/mailgun/mime', urlencodedForm(mailgunFields(cc, { recipient: 'sales@stacklok.com' })))).json(), { id: String })
  t.equal(await queue.count(), 2)
})

t.test('limits: oversized bodies 413, oversized header 413, content never refused; the server keeps serving', async (t) => {
  const { post, queue, web } = await setup(t, { INBOUND_MAX_MB: '2' })
  const big = Buffer.concat([plainMessage({ messageId: 'big@example.org' }), Buffer.alloc(2 * 1024 * 1024, 'a')])
  t.equal((await post('/inbound/mailgun/mime', urlencodedForm(mailgunFields(big)))).statusCode, 413, 'urlencoded over INBOUND_MAX_MB')
  t.equal((await post('/inbound/mailgun/mime', multipartForm(mailgunFields(big)))).statusCode, 413, 'multipart over INBOUND_MAX_MB')
  t.equal((await post('/inbound/sendgrid', sendgridForm(big))).statusCode, 413, 'SendGrid over INBOUND_MAX_MB')
  t.equal((await post('/inbound/postmark', postmarkJson(big))).statusCode, 413, 'Postmark over INBOUND_MAX_MB')

  // Too many parts or too deep is content: stored, and the worker quarantines it (test/security/mime-bombs.test.ts).
  const parts = ['--p'].concat(Array.from({ length: 201 }, () => 'Content-Type: text/plain\r\n\r\nx\r\n--p')).join('\r\n') + '--\r\n'
  const many = Buffer.from(`From: a@example.org\r\nTo: security@stacklok.com\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n${parts}`)
  t.equal((await post('/inbound/sendgrid', sendgridForm(many))).statusCode, 200, 'too many parts: stored')
  const header = Buffer.from(`From: a@example.org\r\nTo: security@stacklok.com\r\n${'X-Pad: ' + 'a'.repeat(1000) + '\r\n'}`.repeat(300) + '\r\nbody')
  t.equal((await post('/inbound/sendgrid', sendgridForm(header))).statusCode, 413, 'header block too large')
  const fields = Array.from({ length: 150 }, (_, i) => ({ name: `f${i}`, value: 'v' }))
  t.equal((await post('/inbound/sendgrid', { ...multipartForm(fields), headers: { ...multipartForm(fields).headers, authorization: basicHeader() } })).statusCode, 413, 'too many form parts')
  t.equal((await post('/inbound/sendgrid', { ...sendgridForm(Buffer.from('not mail at all')) })).statusCode, 200, 'not a message: stored, the worker quarantines it')
  t.equal((await web.fastify.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'still serving')
  t.equal(await queue.count(), 2, 'only the two stored ones queued')
})

t.test('per-IP rate limit on every inbound route, counted in Redis', async (t) => {
  const { web, redis, prefix } = await setup(t, { INBOUND_RATE_LIMIT: '3/60', INBOUND_SECRET: 'x' })
  const msg = plainMessage({ messageId: 'rl@example.org' })
  const from = (remoteAddress: string, url = '/inbound/sendgrid') => web.fastify.inject({ method: 'POST', url, remoteAddress, headers: sendgridForm(msg).headers, payload: sendgridForm(msg).payload })
  const codes = []
  for (let i = 0; i < 4; i++) codes.push((await from('192.0.2.1')).statusCode)
  t.same(codes, [200, 200, 200, 429])
  for (const url of ['/inbound/mailgun/mime', '/inbound/postmark', '/inbound/ses', '/inbound/raw']) {
    t.equal((await from('192.0.2.1', url)).statusCode, 429, `${url} limited too`)
  }
  // Refused requests count: a client guessing credentials is limited as well.
  const guesses = []
  for (let i = 0; i < 4; i++) guesses.push((await web.fastify.inject({ method: 'POST', url: '/inbound/postmark', remoteAddress: '192.0.2.9', headers: { 'content-type': 'application/json', authorization: basicHeader('inbound:guess' + i) }, payload: '{}' })).statusCode)
  t.same(guesses, [401, 401, 401, 429])
  t.equal((await from('192.0.2.7')).statusCode, 200, 'another client has its own budget')
  const local = []
  for (let i = 0; i < 5; i++) local.push((await from('127.0.0.1')).statusCode)
  t.same(local, [200, 200, 200, 200, 200], 'a relay on this host (INBOUND_RATE_LIMIT_EXEMPT) is not limited')
  t.ok((await redis.keys(`${prefix}:gw:rate:*`)).length > 0, 'counters in Redis under the prefix')
  t.equal((await web.fastify.inject({ method: 'GET', url: '/healthz', remoteAddress: '192.0.2.1' })).statusCode, 200, 'other routes are not limited')
})

t.test('the client IP comes from X-Forwarded-For only through TRUST_PROXY hops', async (t) => {
  const msg = plainMessage({ messageId: 'xff@example.org' })
  const attempt = (web: Awaited<ReturnType<typeof setup>>['web'], forwarded: string) => web.fastify.inject({
    method: 'POST', url: '/inbound/sendgrid', remoteAddress: '192.0.2.50',
    headers: { ...sendgridForm(msg).headers, 'x-forwarded-for': forwarded }, payload: sendgridForm(msg).payload
  })
  const direct = await setup(t, { INBOUND_RATE_LIMIT: '2/60', INBOUND_SECRET: 'x' })
  const codes = []
  for (const forged of ['198.51.100.1', '198.51.100.2', '127.0.0.1']) codes.push((await attempt(direct.web, forged)).statusCode)
  t.same(codes, [200, 200, 429], 'by default a client-set header changes nothing, not even to a loopback address')
  const proxied = await setup(t, { INBOUND_RATE_LIMIT: '2/60', INBOUND_SECRET: 'x', TRUST_PROXY: '1' })
  const viaProxy = []
  for (const client of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) viaProxy.push((await attempt(proxied.web, `203.0.113.9, ${client}`)).statusCode)
  t.same(viaProxy, [200, 200, 200], 'behind one proxy the entry it appended is the client; earlier entries are not believed')
  const spoofed = []
  for (let i = 0; i < 3; i++) spoofed.push((await attempt(proxied.web, `198.51.100.${i + 10}, 198.51.100.77`)).statusCode)
  t.same(spoofed, [200, 200, 429], 'a forged left-most entry does not give a new budget')
})

t.test('endpoints whose secret is unset do not exist', async (t) => {
  const prefix = uniquePrefix('noprov')
  const web = await buildWeb({ config: testConfig({ QUEUE_PREFIX: prefix, REDIS_URL }), log, sealPublicKey: importPublicKey(seal.publicKey) })
  t.teardown(async () => { await web.close(); await dropPrefix(prefix) })
  for (const url of ['/inbound/mailgun/mime', '/inbound/sendgrid', '/inbound/postmark', '/inbound/ses', '/inbound/raw']) {
    t.equal((await web.fastify.inject({ method: 'POST', url, payload: '' })).statusCode, 404, url)
  }
})

t.test('Redis down: every provider answers 503, never 200', async (t) => {
  const signer = await snsSigner()
  const config = testConfig({ QUEUE_PREFIX: uniquePrefix('down'), REDIS_URL: 'redis://127.0.0.1:1', ...PROVIDER_ENV })
  const web = await buildWeb({ config, log, sealPublicKey: importPublicKey(seal.publicKey), fetchText: signer.fetchText })
  t.teardown(web.close)
  const post = (url: string, req: Request) => web.fastify.inject({ method: 'POST', url, headers: req.headers, payload: req.payload })
  const msg = plainMessage({ messageId: 'down@example.org' })
  for (const [url, req] of [
    ['/inbound/mailgun/mime', urlencodedForm(mailgunFields(msg))],
    ['/inbound/sendgrid', sendgridForm(msg)],
    ['/inbound/postmark', postmarkJson(msg)],
    ['/inbound/ses', sesNotification(signer, msg)]
  ] as const) {
    const res = await post(url, req)
    t.equal(res.statusCode, 503, url)
  }
})

t.test('Mailgun: after a 503 the retry with the same token and message passes; the token stays bound to that message', async (t) => {
  const Fastify = (await import('fastify')).default
  const { app } = await import('../../src/roles/web-app.js')
  const prefix = uniquePrefix('mgretry')
  const config = testConfig({ QUEUE_PREFIX: prefix, REDIS_URL, MAILGUN_SIGNING_KEY: MAILGUN_KEY })
  const redis = new Redis(REDIS_URL)
  await new Promise((r) => redis.once('ready', r))
  let calls = 0
  // The queue write fails once (as when Redis drops mid-request), then works.
  const accept = async () => { calls++; if (calls === 1) throw new Error('queue write failed'); return { id: 'a'.repeat(24), duplicate: false } }
  const fastify = Fastify()
  const { createMetrics } = await import('../../src/ops/metrics.js')
  const ops = { metrics: createMetrics({ defaultMetrics: false }), readiness: async () => ({ ok: true, checks: {} }), queues: [], production: false, dashboardReadOnly: true, maxEventLoopDelayMs: 1000 }
  await fastify.register(app, { config, redis, accept, ops })
  t.teardown(async () => { await fastify.close(); redis.disconnect(); await dropPrefix(prefix) })
  const req = urlencodedForm(mailgunFields(plainMessage({ messageId: 'retry@example.org' }), { token: 'tok-retry' }))
  const first = await fastify.inject({ method: 'POST', url: '/inbound/mailgun/mime', headers: req.headers, payload: req.payload })
  t.equal(first.statusCode, 503)
  const retry = await fastify.inject({ method: 'POST', url: '/inbound/mailgun/mime', headers: req.headers, payload: req.payload })
  t.equal(retry.statusCode, 200, 'the same signed token passes on the retry')
  const other = urlencodedForm(mailgunFields(plainMessage({ messageId: 'other@example.org' }), { token: 'tok-retry' }))
  t.equal((await fastify.inject({ method: 'POST', url: '/inbound/mailgun/mime', headers: other.headers, payload: other.payload })).statusCode, 401, 'and is then spent for any other message')
})
