// Entry point: `node dist/main.js [all|web|worker]`. Loads the configuration, applies
// the development defaults the contract promises, and starts the chosen role(s).
import 'dotenv/config'
import { ConfigError, loadConfig, type Config, type Role } from './config.js'
import { createLogger, type Logger } from './log.js'
import { devSecretsPath, ensureDevSecrets, readDevWebSecrets } from './dev/secrets.js'
import { hasRedisServer, redisAnswers, startRedisChild } from './dev/redis-child.js'
import { sealPublicKey } from './seal/keys.js'
import { buildWeb } from './server.js'
import { startWorker, type RunningWorker } from './worker.js'
import { createMetrics } from './ops/metrics.js'
import { readinessProbe } from './ops/health.js'
import { startMetricsServer } from './ops/metrics-server.js'
import { warnUnsafeRedis } from './ops/redis-safety.js'
import { Redis } from 'ioredis'

async function main (): Promise<void> {
  const role = parseRole(process.argv[2])
  let config: Config
  try {
    config = loadConfig(process.env, role)
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n')
      process.exit(2)
    }
    throw err
  }
  const log = createLogger({ level: config.logLevel, production: config.production })
  await ensureRedis(config, log)
  await checkRedis(config, log)
  if (needsDevSecrets(config)) prepareDevSecrets(config, log)

  // Shutdown order: stop taking requests (and answer those in flight), then let running
  // jobs finish or go back to the queue, each role closing its Redis connections last.
  const closers: Array<() => Promise<void>> = []
  const metrics = createMetrics()
  let worker: RunningWorker | undefined
  if (role === 'all' || role === 'worker') {
    worker = await startWorker({ config, log, metrics })
    closers.push(worker.close)
  }
  if (role === 'all' || role === 'web') {
    const inboundSecret = config.inboundSecret ?? (needsDevSecrets(config) ? readDevWebSecrets(config.dataDir).inboundSecret : undefined)
    const web = await buildWeb({ config, log, metrics, sealPublicKey: sealPublicKey(config, role), readinessChecks: worker?.readinessChecks ?? [], ...(inboundSecret !== undefined ? { inboundSecret } : {}) })
    await web.fastify.listen({ port: config.port, host: config.host })
    closers.unshift(web.close)
    if (config.metricsPort !== undefined) closers.unshift(await metricsListener(config, log, metrics, web.readiness))
  } else if (config.metricsPort !== undefined && worker !== undefined) {
    closers.unshift(await metricsListener(config, log, metrics, readinessProbe(worker.readinessChecks)))
  }
  log.info({ role, publicUrl: config.publicUrl, prefix: config.queuePrefix }, 'security intake gateway started')
  handleSignals(log, closers, config.shutdownTimeoutMs + 10_000)
}

async function metricsListener (config: Config, log: Logger, metrics: ReturnType<typeof createMetrics>, readiness: ReturnType<typeof readinessProbe>): Promise<() => Promise<void>> {
  const server = await startMetricsServer({ port: config.metricsPort as number, host: config.host, metrics, readiness, production: config.production, adminBasicAuth: config.adminBasicAuth, open: config.metricsPortOpen, log })
  return async () => { await server.close() }
}

/** maxmemory-policy and persistence: loud in production, a note in development. */
async function checkRedis (config: Config, log: Logger): Promise<void> {
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 3000, lazyConnect: true })
  redis.on('error', () => {})
  try {
    await redis.connect()
    await warnUnsafeRedis(redis, log, config.production)
  } catch (err) {
    log.warn({ err: { message: (err as Error).message } }, 'redis not reachable at start; inbound answers 503 until it is')
  } finally {
    redis.disconnect()
  }
}

function parseRole (arg: string | undefined): Role {
  if (arg === undefined || arg === 'all' || arg === 'web' || arg === 'worker') return arg ?? 'all'
  process.stderr.write(`unknown role "${arg}": use all, web or worker\n`)
  process.exit(2)
}

async function ensureRedis (config: Config, log: Logger): Promise<void> {
  if (!config.redisUrlDefaulted || config.production) return
  if (await redisAnswers('127.0.0.1', 6379)) return
  if (!hasRedisServer()) {
    process.stderr.write('No Redis answers on 127.0.0.1:6379. Start one (redis-server --daemonize yes) or set REDIS_URL.\n')
    process.exit(1)
  }
  await startRedisChild(config.dataDir)
  log.warn({ dir: `${config.dataDir}/redis` }, 'development: started a redis-server child process (stopped on exit)')
}

function needsDevSecrets (config: Config): boolean {
  if (config.production) return false
  return config.inboundSecret === undefined || (config.seal.publicKey === undefined && config.seal.privateKey === undefined)
}

function prepareDevSecrets (config: Config, log: Logger): void {
  const created = ensureDevSecrets(config.dataDir)
  const path = devSecretsPath(config.dataDir)
  if (config.inboundSecret === undefined) {
    log.warn({ path }, created ? 'development: generated INBOUND_SECRET and seal keys' : 'development: INBOUND_SECRET and seal keys from dev secrets')
  }
}

function handleSignals (log: Logger, closers: Array<() => Promise<void>>, hardDeadlineMs: number): void {
  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    log.info({ signal }, 'shutting down')
    const deadline = setTimeout(() => { log.error('shutdown deadline passed, exiting'); process.exit(1) }, hardDeadlineMs)
    deadline.unref()
    for (const close of closers) {
      log.debug({ step: close.name }, 'shutdown step')
      try { await close() } catch (err) { log.error({ err: { message: (err as Error).message } }, 'error while closing') }
    }
    log.info('shut down cleanly')
    log.flush()
    process.exit(0)
  }
  process.on('SIGTERM', () => { void shutdown('SIGTERM') })
  process.on('SIGINT', () => { void shutdown('SIGINT') })
}

main().catch((err: Error) => {
  process.stderr.write(`fatal: ${err.message}\n`)
  process.exit(1)
})
