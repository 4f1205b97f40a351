// Logs: JSON lines, request ids, and secrets masked wherever they turn up.
import t from 'tap'
import { Writable } from 'node:stream'
import { createLogger, maskUrlCredentials } from '../../src/log.js'
import { startGateway } from '../helpers/gateway.js'
import { plainMessage } from '../helpers/messages.js'

function capture () {
  const lines: string[] = []
  const log = createLogger({ level: 'debug', production: true, destination: new Writable({ write (c, _e, cb) { lines.push(String(c)); cb() } }) })
  return { log, lines }
}

t.test('URL credentials are masked', async (t) => {
  t.equal(maskUrlCredentials('smtp://mailer:hunter2@smtp.example.org:587'), 'smtp://mailer:[redacted]@smtp.example.org:587')
  t.equal(maskUrlCredentials('redis://default:p%40ss@redis.internal:6379/0 and rediss://u:x@h'), 'redis://default:[redacted]@redis.internal:6379/0 and rediss://u:[redacted]@h')
  t.equal(maskUrlCredentials('https://example.org/no/credentials'), 'https://example.org/no/credentials')
})

t.test('redaction: headers, keys, passphrases, tokens, SMTP URLs, bodies', async (t) => {
  const { log, lines } = capture()
  const secrets = ['Basic b3BzOnNlY3JldA==', 'hunter2', 'ghp_tokenvalue', 'PASSPHRASE-VALUE', '-----BEGIN PGP PRIVATE KEY BLOCK-----', 'report body text', 'the-signature']
  log.info({ req: { headers: { authorization: secrets[0], 'x-intake-signature': secrets[6] } } }, 'request')
  log.info({ config: { smtpUrl: `smtp://u:${secrets[1]}@h`, github: { token: secrets[2] }, pgp: { passphrase: secrets[3], privateKey: secrets[4] } } }, 'config')
  log.warn({ err: { message: `connect failed for smtp://user:${secrets[1]}@mail.example.org` } }, 'smtp error')
  log.error(`could not reach smtps://user:${secrets[1]}@mail.example.org`)
  log.info({ mail: { body: secrets[5], text: secrets[5], subject: secrets[5] } }, 'nested content')
  log.info({ body: secrets[5], headers: { authorization: secrets[0] } }, 'top-level content')
  t.equal(lines.length, 6)
  for (const line of lines) {
    const parsed = JSON.parse(line) as Record<string, unknown>
    t.equal(parsed.service, 'security-intake', 'JSON with the service name')
    for (const secret of secrets) t.notOk(line.includes(secret), `no "${secret}" in: ${line.slice(0, 80)}`)
  }
  t.match(lines[2], 'smtp://user:[redacted]@mail.example.org')
})

t.test('request ids: taken from X-Request-Id or generated, echoed, on every line of the request', async (t) => {
  const gw = await startGateway(t, {})
  const given = await gw.web.fastify.inject({ url: '/healthz', headers: { 'x-request-id': 'provider-delivery-42' } })
  t.equal(given.headers['x-request-id'], 'provider-delivery-42')
  const res = await gw.post(plainMessage({ messageId: 'reqid@example.org' }))
  t.equal(res.status, 200)
  const queued = gw.logs.map((l) => JSON.parse(l) as { msg: string, reqId?: string }).find((l) => l.msg === 'inbound: queued')
  t.match(queued?.reqId, /^[0-9a-f-]{36}$/, 'a generated UUID')
  const sameRequest = gw.logs.filter((l) => queued?.reqId !== undefined && l.includes(queued.reqId))
  t.ok(sameRequest.length >= 2, 'incoming, queued and completed lines share it')
})

// Issue 15, finding 1: the formatter walked the logged reply to request.body and made one
// key per byte of a 39 MB body (minutes of CPU, GBs, then OOM). Bytes and framework
// objects are labelled, never walked; everything else has a key and depth budget.
t.test('a logged reply, request or Buffer never has its bytes walked', async (t) => {
  const { log, lines } = capture()
  const body = Buffer.alloc(2 * 1024 * 1024, 0x61)
  const request = { method: 'POST', url: '/inbound/raw', id: 'req-1', ip: '192.0.2.7', headers: { 'content-length': String(body.length), authorization: 'Basic c2VjcmV0' }, body, routeOptions: { url: '/inbound/raw' } }
  log.info({ res: { statusCode: 401, request }, responseTime: 3 }, 'request completed')
  log.info({ req: request }, 'incoming request')
  log.info({ held: { body, bytes: new Uint8Array(body.buffer, 0, 1 << 20), ab: new ArrayBuffer(1 << 20) } }, 'bytes in a plain object')
  class Reply { request = request }
  log.info({ stream: new Writable(), reply: new Reply() }, 'framework objects')
  t.equal(lines.length, 4)
  for (const line of lines) {
    t.ok(line.length < 2000, `a short line (${line.length} chars)`)
    t.notMatch(line, /"\d+":/, 'no key per byte')
    t.notOk(line.includes('aaaa'), 'no body bytes')
    t.notOk(line.includes('c2VjcmV0'), 'no headers')
  }
  const [res, req, held, framework] = lines.map((l) => JSON.parse(l) as Record<string, any>)
  t.same(res?.res, { statusCode: 401 })
  t.same(req?.req, { method: 'POST', url: '/inbound/raw', route: '/inbound/raw', id: 'req-1', remoteAddress: '192.0.2.7', contentLength: String(body.length) })
  t.same(held?.held, { body: '[redacted]', bytes: '[Uint8Array 1048576 bytes]', ab: '[ArrayBuffer 1048576 bytes]' })
  t.same(framework, { ...framework, stream: '[Writable]', reply: '[Reply]' })
})

t.test('a logged error keeps its name, message and code, never attached requests or responses', async (t) => {
  const { log, lines } = capture()
  // Octokit's RequestError carries request.body (advisory text) and response.data.
  const err = Object.assign(new Error('Validation Failed for smtp://u:hunter2@h'), { name: 'HttpError', status: 422, request: { body: 'REPORT-TEXT' }, response: { data: Buffer.alloc(1 << 20) } })
  log.error({ err }, 'github failed')
  log.error({ failure: { err, cause: new Error('inner', { cause: err }) } }, 'nested')
  for (const line of lines) {
    t.notOk(line.includes('REPORT-TEXT'))
    t.notOk(line.includes('hunter2'))
    t.ok(line.length < 20_000)
  }
  const first = JSON.parse(lines[0] ?? '{}') as { err: Record<string, unknown> }
  t.match(first.err, { type: 'HttpError', status: 422, message: 'Validation Failed for smtp://u:[redacted]@h' })
  t.notOk('request' in first.err || 'response' in first.err)
})

t.test('the scrubber has a key and depth budget', async (t) => {
  const { log, lines } = capture()
  const wide: Record<string, number> = {}
  for (let i = 0; i < 200_000; i++) wide[`k${i}`] = i
  let deep: Record<string, unknown> = { leaf: true }
  for (let i = 0; i < 10_000; i++) deep = { deep }
  log.info({ wide }, 'wide')
  log.info({ list: new Array(1_000_000).fill(1) }, 'long')
  log.info({ deep }, 'deep')
  for (const line of lines) t.ok(line.length < 10_000, `bounded line (${line.length} chars)`)
  t.match(lines[0], '"[truncated]":true')
  t.match(lines[1], '"[999801 more]"')
  t.match(lines[2], '"[too deep]"')
})
