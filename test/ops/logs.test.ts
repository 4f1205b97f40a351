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
