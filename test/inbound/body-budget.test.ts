// Bodies are admitted by bytes (issue 15: 20 concurrent 25 MB bodies OOM-killed a 512 MiB
// web role): over the budget the answer is 503 + Retry-After, before the body is read.
import t, { type Test } from 'tap'
import Fastify from 'fastify'
import { Readable } from 'node:stream'
import { admitBodies, bodyBudget, bodyCapacity, WEB_BASELINE_BYTES, BODY_COPIES } from '../../src/inbound/body-budget.js'

async function app (t: Test, capacity: number, bodyLimit = 1_000_000) {
  const fastify = Fastify({ bodyLimit })
  const budget = bodyBudget(capacity)
  let release = () => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  fastify.addContentTypeParser('message/rfc822', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))
  await fastify.register(async (scope) => {
    admitBodies(scope, budget)
    scope.post('/hold', async () => { await held; return { ok: true } })
    scope.post('/take', async (req) => ({ bytes: (req.body as Buffer).length }))
  })
  t.teardown(() => fastify.close())
  const inflight = fastify.inject({ method: 'POST', url: '/hold', headers: { 'content-type': 'message/rfc822' }, payload: Buffer.alloc(800) })
  await new Promise((resolve) => setTimeout(resolve, 50))
  return { fastify, budget, release, inflight }
}

t.test('Content-Length over what is left: 503 + Retry-After without reading; admitted again once the first is answered', async (t) => {
  const { fastify, budget, release, inflight } = await app(t, 1000)
  t.equal(budget.used, 800, 'the held request has its bytes')
  const over = await fastify.inject({ method: 'POST', url: '/take', headers: { 'content-type': 'message/rfc822' }, payload: Buffer.alloc(400) })
  t.equal(over.statusCode, 503)
  t.ok(Number(over.headers['retry-after']) > 0, 'Retry-After')
  t.equal(budget.used, 800, 'the refused request holds nothing')
  const fits = await fastify.inject({ method: 'POST', url: '/take', headers: { 'content-type': 'message/rfc822' }, payload: Buffer.alloc(150) })
  t.equal(fits.statusCode, 200)
  release()
  t.equal((await inflight).statusCode, 200)
  const again = await fastify.inject({ method: 'POST', url: '/take', headers: { 'content-type': 'message/rfc822' }, payload: Buffer.alloc(400) })
  t.same(again.json(), { bytes: 400 }, 'taken once the budget is free')
  t.equal(budget.used, 0, 'everything given back')
})

t.test('a chunked body (no Content-Length) takes the most it may grow to', async (t) => {
  const { fastify, budget, release, inflight } = await app(t, 1000, 900)
  const chunks = () => Readable.from([Buffer.alloc(100), Buffer.alloc(100), Buffer.alloc(100)])
  const over = await fastify.inject({ method: 'POST', url: '/take', headers: { 'content-type': 'message/rfc822' }, payload: chunks() })
  t.equal(over.statusCode, 503, 'its 900-byte limit does not fit in the 200 bytes left')
  t.ok(Number(over.headers['retry-after']) > 0, 'Retry-After')
  release()
  await inflight
  const ok = await fastify.inject({ method: 'POST', url: '/take', headers: { 'content-type': 'message/rfc822' }, payload: chunks() })
  t.same(ok.json(), { bytes: 300 })
  t.equal(budget.used, 0)
})

t.test('the capacity follows the memory, and always admits one largest body', async (t) => {
  t.equal(bodyCapacity(512 * 1024 * 1024, 40 * 1024 * 1024), Math.floor((512 * 1024 * 1024 - WEB_BASELINE_BYTES) / BODY_COPIES))
  t.equal(bodyCapacity(256 * 1024 * 1024, 40 * 1024 * 1024), 40 * 1024 * 1024)
  const budget = bodyBudget(10)
  t.ok(budget.take(50), 'alone, a body larger than the capacity still gets in')
  t.notOk(budget.take(1))
})

t.test('a body that trickles in loses its reservation: the connection is closed, the bytes given back', async (t) => {
  const { connect } = await import('node:net')
  const fastify = Fastify({ bodyLimit: 10_000_000 })
  const budget = bodyBudget(12_000_000)
  fastify.addContentTypeParser('message/rfc822', { parseAs: 'buffer' }, (_req, body, done) => done(null, body))
  await fastify.register(async (scope) => {
    admitBodies(scope, budget, { minBytesPerSecond: 64 * 1024, graceMs: 300, checkMs: 50 })
    scope.post('/take', async (req) => ({ bytes: (req.body as Buffer).length }))
  })
  await fastify.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => fastify.close())
  const { port } = fastify.server.address() as { port: number }
  const socket = connect(port, '127.0.0.1')
  socket.on('error', () => {})
  socket.write('POST /take HTTP/1.1\r\nHost: x\r\nContent-Type: message/rfc822\r\nContent-Length: 9000000\r\n\r\n')
  const trickle = setInterval(() => socket.write('x'), 50)
  const started = Date.now()
  await new Promise<void>((resolve) => socket.once('close', () => resolve()))
  clearInterval(trickle)
  t.ok(Date.now() - started < 3000, `closed after ${Date.now() - started} ms`)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(budget.used, 0, 'the reservation is given back')
  // A body that keeps arriving is untouched by the rule.
  const ok = await fetch(`http://127.0.0.1:${port}/take`, { method: 'POST', headers: { 'content-type': 'message/rfc822' }, body: Buffer.alloc(5_000_000) })
  t.same(await ok.json(), { bytes: 5_000_000 })
})
