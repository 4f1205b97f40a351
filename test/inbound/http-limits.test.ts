// Over a real socket (not inject): an oversized or malformed provider request gets its
// 413/400 and the process keeps serving, also when the body is streamed in chunks.
// Client and server share one event loop here, and building multi-MiB forms on a busy
// machine stalls it past the load-shedding limit: that limit is not what this tests.
import t from 'tap'
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { buildWeb } from '../../src/roles/web.js'
import { createLogger } from '../../src/log.js'
import { generateSealKeyPair, importPublicKey } from '../../src/seal/hpke.js'
import { testConfig } from '../helpers/config.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'
import { BASIC, MAILGUN_KEY, basicHeader, mailgunFields, sendgridForm, urlencodedForm } from '../helpers/providers.js'
import { plainMessage } from '../helpers/messages.js'

const log = createLogger({ level: process.env.TEST_LOG ?? 'silent', production: false })

function send (port: number, path: string, headers: Record<string, string>, body: Buffer, chunked: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: chunked ? headers : { ...headers, 'content-length': String(body.length) } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', (err: NodeJS.ErrnoException) => {
      // The server may answer 413 and close before the whole body is written.
      if (err.code === 'EPIPE' || err.code === 'ECONNRESET') resolve(-1)
      else reject(err)
    })
    for (let i = 0; i < body.length; i += 256 * 1024) req.write(body.subarray(i, i + 256 * 1024))
    req.end()
  })
}

t.test('413 and 400 over HTTP, chunked or not, and the server still answers', async (t) => {
  const prefix = uniquePrefix('httplim')
  const config = testConfig({ QUEUE_PREFIX: prefix, REDIS_URL, INBOUND_MAX_MB: '2', MAILGUN_SIGNING_KEY: MAILGUN_KEY, INBOUND_BASIC_AUTH: BASIC, HOST: '127.0.0.1', PORT: '0', MAX_EVENT_LOOP_DELAY_MS: '60000' })
  const web = await buildWeb({ config, log, sealPublicKey: importPublicKey(generateSealKeyPair().publicKey) })
  t.teardown(async () => { await web.close(); await dropPrefix(prefix) })
  await web.fastify.listen({ host: '127.0.0.1', port: 0 })
  const port = (web.fastify.server.address() as AddressInfo).port
  const big = Buffer.concat([plainMessage({ messageId: 'big@example.org' }), Buffer.alloc(3 * 1024 * 1024, 'a')])
  const mg = urlencodedForm(mailgunFields(big))
  const sg = sendgridForm(big)
  for (const chunked of [false, true]) {
    const a = await send(port, '/inbound/mailgun/mime', mg.headers, mg.payload, chunked)
    t.ok(a === 413 || a === -1, `Mailgun over the limit (${chunked ? 'chunked' : 'content-length'}): ${a}`)
    const b = await send(port, '/inbound/sendgrid', sg.headers, sg.payload, chunked)
    t.ok(b === 413 || b === -1, `SendGrid over the limit (${chunked ? 'chunked' : 'content-length'}): ${b}`)
  }
  const broken = Buffer.from('--xYzZY\r\nContent-Disposition: form-data; name="email"\r\n\r\nFrom: a@b.example\r\n') // never terminated
  const truncated = await send(port, '/inbound/sendgrid', { 'content-type': 'multipart/form-data; boundary=xYzZY', authorization: basicHeader() }, broken, false)
  t.equal(truncated, 400, `truncated multipart: 400, not a hang (${truncated})`)
  const res = await fetch(`http://127.0.0.1:${port}/healthz`)
  t.equal(res.status, 200, 'still serving')
})

t.test('multipart: the sum of the parts is refused as soon as it passes INBOUND_MAX_MB, not after the last part is buffered', async (t) => {
  const prefix = uniquePrefix('httplim2')
  const config = testConfig({ QUEUE_PREFIX: prefix, REDIS_URL, INBOUND_MAX_MB: '2', INBOUND_BASIC_AUTH: BASIC, HOST: '127.0.0.1', PORT: '0', MAX_EVENT_LOOP_DELAY_MS: '60000' })
  const web = await buildWeb({ config, log, sealPublicKey: importPublicKey(generateSealKeyPair().publicKey) })
  t.teardown(async () => { await web.close(); await dropPrefix(prefix) })
  await web.fastify.listen({ host: '127.0.0.1', port: 0 })
  const port = (web.fastify.server.address() as AddressInfo).port
  // Two parts each under the per-part limit; the second is never finished. The answer
  // must come once the sum passes the limit (before: only at the end of the part, never).
  const head = (name: string, filename: string) => Buffer.from(`--xYzZY\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\n\r\n`)
  const body = Buffer.concat([head('email', 'm.eml'), plainMessage({ messageId: 'sum@example.org' }), Buffer.alloc(1536 * 1024, 'a'), Buffer.from('\r\n'), head('attachment1', 'a.bin'), Buffer.alloc(1536 * 1024, 'b')])
  const status = await new Promise<number>((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/inbound/sendgrid', method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=xYzZY', authorization: basicHeader() } }, (res) => {
      resolve(res.statusCode ?? 0)
      res.resume()
      req.destroy()
    })
    req.on('error', () => resolve(-1))
    // A guard, not a timing assertion: without an answer the test would hang forever.
    const guard = setTimeout(() => { resolve(-2); req.destroy() }, 15000)
    req.on('close', () => clearTimeout(guard))
    req.write(body) // and the request is never ended
  })
  t.equal(status, 413)
})
