// Every way into the admin surface (board pages, API, static assets, encoded paths,
// HEAD/OPTIONS) is behind the guard, and a read-only board refuses every mutating call.
import t, { type Test } from 'tap'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/log.js'
import { buildWeb } from '../../src/roles/web.js'
import { generateSealKeyPair, importPublicKey } from '../../src/seal/hpke.js'
import { dropPrefix, uniquePrefix } from '../helpers/redis.js'

const silent = createLogger({ level: 'silent', production: false })
const auth = { authorization: 'Basic ' + Buffer.from('ops:s3cret-pass').toString('base64') }

async function build (t: Test, env: Record<string, string>, withAuth = true) {
  const seal = generateSealKeyPair()
  const prefix = uniquePrefix('adminpaths')
  t.teardown(async () => await dropPrefix(prefix))
  const web = await buildWeb({ config: loadConfig({ LOG_LEVEL: 'silent', NODE_ENV: 'test', QUEUE_PREFIX: prefix, SEAL_PUBLIC_KEY: seal.publicKey, ...(withAuth ? { ADMIN_BASIC_AUTH: 'ops:s3cret-pass' } : {}), ...env }, 'web'), log: silent, sealPublicKey: importPublicKey(seal.publicKey) })
  t.teardown(web.close)
  return web
}

t.test('no admin path answers without credentials', async (t) => {
  const web = await build(t, {})
  const paths = ['/admin/queues', '/admin/queues/', '/admin/queues/queue/intake', '/admin/queues/api/queues', '/admin/queues/api/redis/stats',
    '/admin/queues/static/images/logo.svg', '/admin/%71ueues', '/admin/queues/%61pi/queues', '/%61dmin/queues/api/queues', '/admin//queues/api/queues',
    '/admin/queues/static/../api/queues', '/metrics', '/%6detrics', '/metrics/', '/METRICS', '/admin/QUEUES/api/queues']
  for (const url of paths) {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH'] as const) {
      const res = await web.fastify.inject({ method, url })
      t.ok(res.statusCode === 401 || res.statusCode === 404, `${method} ${url}: ${res.statusCode}`)
      t.notMatch(res.body, /intake_|bull-board|"queues"/i, `${method} ${url} shows nothing`)
    }
  }
})

t.test('read-only board: every mutating API call is refused, with credentials', async (t) => {
  const web = await build(t, {})
  const queue = (await web.fastify.inject({ url: '/admin/queues/api/queues', headers: auth }))
  t.equal(queue.statusCode, 200)
  const name = (JSON.parse(queue.body) as { queues: Array<{ name: string }> }).queues[0]?.name ?? 'intake'
  const mutations: Array<[string, string]> = [
    ['PUT', '/api/queues/pause'], ['PUT', '/api/queues/resume'], ['POST', `/api/queues/${name}/add`],
    ['PUT', `/api/queues/${name}/retry/failed`], ['PUT', `/api/queues/${name}/promote`], ['PUT', `/api/queues/${name}/clean/completed`],
    ['PUT', `/api/queues/${name}/pause`], ['PUT', `/api/queues/${name}/resume`], ['PUT', `/api/queues/${name}/concurrency`],
    ['PUT', `/api/queues/${name}/rate-limit`], ['PUT', `/api/queues/${name}/rate-limit/release`], ['PUT', `/api/queues/${name}/empty`],
    ['PUT', `/api/queues/${name}/obliterate`], ['PUT', `/api/queues/${name}/job-schedulers/s/remove`], ['PATCH', `/api/queues/${name}/job-schedulers/s`],
    ['PUT', `/api/queues/${name}/job-schedulers/s/run`], ['PUT', `/api/queues/${name}/1/retry`], ['PUT', `/api/queues/${name}/1/clean`],
    ['PUT', `/api/queues/${name}/1/promote`], ['PATCH', `/api/queues/${name}/1/update-data`], ['PATCH', `/api/queues/${name}/1/delay`],
    ['PATCH', `/api/queues/${name}/1/priority`], ['PUT', `/api/queues/${name}/1/remove-unprocessed-children`]
  ]
  for (const [method, path] of mutations) {
    const res = await web.fastify.inject({ method: method as 'PUT', url: '/admin/queues' + path, headers: { ...auth, 'content-type': 'application/json' }, payload: '{"name":"x","data":{},"max":1,"duration":1000,"concurrency":1}' })
    t.equal(res.statusCode, 405, `${method} ${path}: refused`)
  }
  const after = await web.fastify.inject({ url: '/admin/queues/api/queues', headers: auth })
  t.notMatch(after.body, /"isPaused":true/, 'no queue paused')
})

t.test('development without ADMIN_BASIC_AUTH: a request relayed by any local proxy is refused', async (t) => {
  const web = await build(t, {}, false)
  t.equal((await web.fastify.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).statusCode, 200, 'loopback, direct')
  for (const header of ['x-forwarded-for', 'forwarded', 'x-real-ip', 'fly-client-ip']) {
    const value = header === 'forwarded' ? 'for=203.0.113.9' : '203.0.113.9'
    t.equal((await web.fastify.inject({ url: '/metrics', remoteAddress: '127.0.0.1', headers: { [header]: value } })).statusCode, 403, `relayed with ${header}`)
    t.equal((await web.fastify.inject({ url: '/admin/queues/api/queues', remoteAddress: '127.0.0.1', headers: { [header]: value } })).statusCode, 403, `dashboard API relayed with ${header}`)
  }
})
