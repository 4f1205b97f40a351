// Entry point: `node dist/main.js [all|web|worker]`. Loads the configuration, applies
// the development defaults the contract promises, and starts the chosen role(s).
import 'dotenv/config'
import { ConfigError, loadConfig, type Config, type Role } from './config.js'
import { createLogger } from './log.js'
import { inboundSecretOf, prepareDevelopment } from './dev/prepare.js'
import { sealPublicKey } from './seal/keys.js'
import type { RunningWorker } from './roles/worker.js'
import { createMetrics } from './ops/metrics.js'
import { readinessProbe } from './ops/health.js'
import { checkRedisAtStart } from './ops/redis-safety.js'
import { handleSignals } from './lifecycle.js'

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
  await prepareDevelopment(config, log)
  await checkRedisAtStart(config, log)

  // Shutdown order: stop taking requests (and answer those in flight), then let running
  // jobs finish or go back to the queue, each role closing its Redis connections last.
  const closers: Array<() => Promise<void>> = []
  const metrics = createMetrics()
  const serveMetrics = async (readiness: ReturnType<typeof readinessProbe>) => await (await import('./ops/metrics-server.js')).metricsListener(config, log, metrics, readiness)
  let worker: RunningWorker | undefined
  // Each role's code is loaded only by a process that runs it: a web process never has
  // the worker's key-loading code in memory, and a worker not Fastify and the dashboard
  // (unless it serves METRICS_PORT).
  if (role === 'all' || role === 'worker') {
    const { startWorker } = await import('./roles/worker.js')
    worker = await startWorker({ config, log, metrics })
    closers.push(worker.close)
  }
  if (role === 'all' || role === 'web') {
    const inboundSecret = inboundSecretOf(config)
    const { buildWeb } = await import('./roles/web.js')
    const web = await buildWeb({ config, log, metrics, sealPublicKey: sealPublicKey(config, role), readinessChecks: worker?.readinessChecks ?? [], ...(inboundSecret !== undefined ? { inboundSecret } : {}) })
    await web.fastify.listen({ port: config.port, host: config.host })
    closers.unshift(web.close)
    if (config.metricsPort !== undefined) closers.unshift(await serveMetrics(web.readiness))
  } else if (config.metricsPort !== undefined && worker !== undefined) {
    closers.unshift(await serveMetrics(readinessProbe(worker.readinessChecks)))
  }
  log.info({ role, publicUrl: config.publicUrl, prefix: config.queuePrefix }, 'security intake gateway started')
  handleSignals(log, closers, config.shutdownTimeoutMs + 10_000)
}

function parseRole (arg: string | undefined): Role {
  if (arg === undefined || arg === 'all' || arg === 'web' || arg === 'worker') return arg ?? 'all'
  process.stderr.write(`unknown role "${arg}": use all, web or worker\n`)
  process.exit(2)
}

main().catch((err: Error) => {
  process.stderr.write(`fatal: ${err.message}\n`)
  process.exit(1)
})
