// Redis safety at start, against dedicated redis-server processes configured the two
// ways that lose queued reports (eviction, no persistence) and the safe way.
import t, { type Test } from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { Redis } from 'ioredis'
import { hasRedisServer, redisAnswers } from '../../src/dev/redis-child.js'
import { createLogger } from '../../src/log.js'
import { inspectRedis, warnUnsafeRedis } from '../../src/ops/redis-safety.js'
import { generateSealKeyPair } from '../../src/seal/hpke.js'
import { startMain } from '../helpers/main-process.js'
import { freePort } from '../helpers/redis-server.js'

async function redisWith (t: Test, args: string[]): Promise<Redis> {
  const dir = mkdtempSync(join(tmpdir(), 'intake-redis-safety-'))
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...args], { stdio: 'ignore' })
  t.teardown(async () => {
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
    rmSync(dir, { recursive: true, force: true })
  })
  for (let i = 0; i < 100 && !await redisAnswers('127.0.0.1', port); i++) await new Promise((r) => setTimeout(r, 50))
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true })
  redis.on('error', () => {})
  t.teardown(() => redis.disconnect())
  await redis.connect()
  return redis
}

function capture () {
  const lines: Array<{ level: number, msg: string }> = []
  const log = createLogger({ level: 'info', production: true, destination: new Writable({ write (c, _e, cb) { lines.push(JSON.parse(String(c))); cb() } }) })
  return { log, lines }
}

const skip = hasRedisServer() ? false : 'redis-server not installed'

t.test('evicting and non-persistent Redis: loud in production', { skip }, async (t) => {
  const redis = await redisWith(t, ['--maxmemory-policy', 'allkeys-lru', '--appendonly', 'no', '--save', ''])
  const found = await inspectRedis(redis)
  t.match(found, { maxmemoryPolicy: 'allkeys-lru', aof: false, rdb: false })
  t.equal(found.problems.length, 2)
  const { log, lines } = capture()
  await warnUnsafeRedis(redis, log, true)
  const loud = lines.filter((l) => l.level === 50 && l.msg.includes('REDIS UNSAFE FOR PRODUCTION'))
  t.equal(loud.length, 2, 'one error line per problem')
  t.ok(loud.some((l) => l.msg.includes('maxmemory-policy is allkeys-lru')))
  t.ok(loud.some((l) => l.msg.includes('persistence is off')))

  const dev = capture()
  await warnUnsafeRedis(redis, dev.log, false)
  t.ok(dev.lines.every((l) => l.level === 30), 'development: a note, not an alarm')
})

t.test('noeviction with AOF: nothing to say', { skip }, async (t) => {
  const redis = await redisWith(t, ['--maxmemory-policy', 'noeviction', '--appendonly', 'yes', '--save', ''])
  t.match(await inspectRedis(redis), { maxmemoryPolicy: 'noeviction', aof: true, problems: [] })
  const { log, lines } = capture()
  await warnUnsafeRedis(redis, log, true)
  t.same(lines, [])
})

t.test('RDB snapshots alone count as persistence', { skip }, async (t) => {
  const redis = await redisWith(t, ['--maxmemory-policy', 'noeviction', '--appendonly', 'no', '--save', '60 1'])
  t.match(await inspectRedis(redis), { rdb: true, problems: [] })
})

t.test('CONFIG disabled (managed Redis): read from INFO instead', { skip }, async (t) => {
  const redis = await redisWith(t, ['--maxmemory-policy', 'volatile-lru', '--appendonly', 'yes', '--rename-command', 'CONFIG', '""'])
  const found = await inspectRedis(redis)
  t.match(found, { maxmemoryPolicy: 'volatile-lru', aof: true })
  t.equal(found.problems.length, 1)
  t.match(found.problems[0], 'maxmemory-policy is volatile-lru')
})

t.test('the gateway checks at start: a production web role on an evicting Redis says so', { skip }, async (t) => {
  const redis = await redisWith(t, ['--maxmemory-policy', 'allkeys-random', '--appendonly', 'yes'])
  const seal = generateSealKeyPair()
  const run = startMain(['web'], { NODE_ENV: 'production', REDIS_URL: `redis://127.0.0.1:${redis.options.port}`, INBOUND_SECRET: 'prod-secret-0123456789abcdef', SEAL_PUBLIC_KEY: seal.publicKey, KEYS_DIR: join(tmpdir(), 'none'), DATA_DIR: join(tmpdir(), 'none') })
  t.teardown(() => run.signal('SIGKILL'))
  await run.port
  t.match(run.output(), /"level":50.*REDIS UNSAFE FOR PRODUCTION: maxmemory-policy is allkeys-random/)
  run.signal('SIGTERM')
  t.equal(await run.code, 0)
})
