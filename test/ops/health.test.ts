// Liveness, readiness (Redis up and down, queue paused, role keys), load shedding, and
// who may reach the admin routes.
import t from 'tap'
import { networkInterfaces } from 'node:os'
import { startGateway } from '../helpers/gateway.js'
import { plainMessage } from '../helpers/messages.js'
import { testConfig } from '../helpers/config.js'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/log.js'
import { buildWeb } from '../../src/roles/web.js'
import { generateSealKeyPair, importPublicKey } from '../../src/seal/hpke.js'
import { readinessProbe } from '../../src/ops/health.js'
import { dropPrefix, uniquePrefix } from '../helpers/redis.js'
import { freePort } from '../helpers/redis-server.js'

const silent = createLogger({ level: 'silent', production: false })

t.test('ready with Redis up; not ready while the queue is paused', async (t) => {
  const gw = await startGateway(t, {})
  const live = await gw.web.fastify.inject({ url: '/healthz' })
  t.equal(live.statusCode, 200)
  const ready = await gw.web.fastify.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.match(ready.json(), { ok: true, checks: { redis: { ok: true }, 'queue:reports': { ok: true }, 'seal-public-key': { ok: true } } })
  t.ok(ready.headers['x-request-id'], 'request id echoed')

  await gw.queue.pause()
  const paused = await gw.waitFor(async () => { const r = await gw.web.fastify.inject({ url: '/readyz' }); return r.statusCode === 503 ? r : undefined }, 'paused queue seen by /readyz')
  t.match(paused.json(), { ok: false, checks: { 'queue:reports': { ok: false, detail: 'paused' } } })
  await gw.queue.resume()
  await gw.waitFor(async () => (await gw.web.fastify.inject({ url: '/readyz' })).statusCode === 200, 'ready again')
})

t.test('Redis down: live but not ready, inbound answers 503', async (t) => {
  const port = await freePort() // nothing listens there
  const seal = generateSealKeyPair()
  const config = testConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, QUEUE_PREFIX: uniquePrefix('down'), SEAL_PUBLIC_KEY: seal.publicKey, INBOUND_SECRET: 'x' })
  const web = await buildWeb({ config, log: silent, sealPublicKey: importPublicKey(seal.publicKey), inboundSecret: 'x' })
  t.teardown(web.close)
  t.equal((await web.fastify.inject({ url: '/healthz' })).statusCode, 200)
  const ready = await web.fastify.inject({ url: '/readyz' })
  t.equal(ready.statusCode, 503)
  t.match(ready.json(), { ok: false, checks: { redis: { ok: false } } })
})

t.test('the worker role adds its own checks (key loaded, worker running)', async (t) => {
  const gw = await startGateway(t, {})
  const probe = readinessProbe(gw.worker().readinessChecks, 0)
  await gw.waitFor(async () => (await probe()).ok, 'worker connected')
  t.match(await probe(), { ok: true, checks: { 'redis-worker': { ok: true }, 'team-key': { ok: true }, 'worker-running': { ok: true } } })
  await gw.worker().worker.close()
  t.match(await probe(), { ok: false, checks: { 'worker-running': { ok: false } } })
  await gw.restartWorker()
})

t.test('readiness is cached: one round of checks per window', async (t) => {
  let runs = 0
  const probe = readinessProbe([{ name: 'counting', check: async () => { runs++; return { ok: true } } }], 60_000)
  await Promise.all([probe(), probe(), probe()])
  await probe()
  t.equal(runs, 1)
})

t.test('under pressure: inbound and readiness shed with 503, liveness still answers', async (t) => {
  const gw = await startGateway(t, { MAX_EVENT_LOOP_DELAY_MS: '1' })
  const busy = (ms: number) => { const until = Date.now() + ms; while (Date.now() < until) { /* block the event loop */ } }
  // under-pressure samples the event-loop delay once a second: keep it high until seen.
  const shed = await gw.waitFor(async () => {
    busy(150)
    const r = await gw.web.fastify.inject({ url: '/readyz' })
    return r.statusCode === 503 && r.json().error === 'under pressure, retry later' ? r : undefined
  }, 'load shedding', 20_000)
  t.equal(shed.headers['retry-after'], '30')
  const inbound = await gw.web.fastify.inject({ method: 'POST', url: '/inbound/raw', headers: { 'content-type': 'message/rfc822' }, payload: plainMessage() })
  t.equal(inbound.statusCode, 503, 'a provider is told to retry')
  t.equal((await gw.web.fastify.inject({ url: '/healthz' })).statusCode, 200, 'liveness is never shed')
})

t.test('admin routes: basic auth when set; production without it has none; development loopback only', async (t) => {
  const seal = generateSealKeyPair()
  const base = { QUEUE_PREFIX: uniquePrefix('admin'), SEAL_PUBLIC_KEY: seal.publicKey }
  t.teardown(async () => await dropPrefix(base.QUEUE_PREFIX))
  const build = async (env: Record<string, string>) => {
    const web = await buildWeb({ config: loadConfig({ LOG_LEVEL: 'silent', NODE_ENV: 'test', ...base, ...env }, 'web'), log: silent, sealPublicKey: importPublicKey(seal.publicKey) })
    t.teardown(web.close)
    return web
  }

  const prod = await build({ NODE_ENV: 'production', REDIS_URL: 'redis://127.0.0.1:6379', INBOUND_SECRET: 'a-production-secret-123' })
  t.equal((await prod.fastify.inject({ url: '/metrics' })).statusCode, 404, 'production, no ADMIN_BASIC_AUTH: /metrics does not exist')
  t.equal((await prod.fastify.inject({ url: '/admin/queues' })).statusCode, 404, 'nor the dashboard')

  const secured = await build({ ADMIN_BASIC_AUTH: 'ops:s3cret-pass' })
  const refused = await secured.fastify.inject({ url: '/admin/queues' })
  t.equal(refused.statusCode, 401)
  t.match(refused.headers['www-authenticate'], /^Basic /)
  t.equal((await secured.fastify.inject({ url: '/admin/queues', headers: { authorization: 'Basic ' + Buffer.from('ops:s3cret-pas').toString('base64') } })).statusCode, 401)
  t.equal((await secured.fastify.inject({ url: '/admin/queues', headers: { authorization: 'Basic ' + Buffer.from('ops:s3cret-pass').toString('base64') } })).statusCode, 200)

  const dev = await build({})
  t.equal((await dev.fastify.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode, 200, 'development, loopback: open')
  t.equal((await dev.fastify.inject({ url: '/metrics', remoteAddress: '10.1.2.3' })).statusCode, 403, 'development, another host: refused')
  t.equal((await dev.fastify.inject({ url: '/metrics', remoteAddress: '127.0.0.1', headers: { 'x-forwarded-for': '203.0.113.9' } })).statusCode, 403, 'relayed by a local proxy: refused')

  // The same over a real socket from a non-loopback address, when the machine has one.
  const external = Object.values(networkInterfaces()).flat().find((i) => i !== undefined && i.family === 'IPv4' && !i.internal)
  if (external === undefined) return
  await dev.fastify.listen({ port: 0, host: '0.0.0.0' })
  const port = (dev.fastify.server.address() as { port: number }).port
  t.equal((await fetch(`http://${external.address}:${port}/metrics`)).status, 403, `refused from ${external.address}`)
  t.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 200, 'open from 127.0.0.1')
})
