// METRICS_PORT: a second, small listener with /metrics and the health routes. A
// worker-only process has no HTTP server otherwise, so this is how Prometheus (and
// Fly's checks) reach it; the web role may use it too, to keep /metrics off the
// public port.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Config } from '../config.js'
import type { Logger } from '../log.js'
import { adminGuard } from './admin-auth.js'
import { healthRoutes, type Readiness } from './health.js'
import type { Metrics } from './metrics.js'
import { metricsRoute } from './routes.js'

export interface MetricsServerOptions {
  port: number
  host: string
  metrics: Metrics
  readiness: () => Promise<Readiness>
  production: boolean
  adminBasicAuth?: string | undefined
  /** METRICS_PORT_OPEN: no authentication on this listener (private network only). */
  open?: boolean
  log: Logger
}

export async function startMetricsServer (opts: MetricsServerOptions): Promise<FastifyInstance> {
  const fastify = Fastify({ loggerInstance: opts.log.child({ listener: 'metrics' }) as FastifyBaseLogger, disableRequestLogging: true })
  healthRoutes(fastify, opts.readiness)
  const guard = opts.open === true ? async () => undefined : adminGuard({ adminBasicAuth: opts.adminBasicAuth, production: opts.production })
  if (guard !== undefined) metricsRoute(fastify, opts.metrics, guard)
  else opts.log.warn('METRICS_PORT: /metrics disabled (production without ADMIN_BASIC_AUTH); health routes only')
  await fastify.listen({ port: opts.port, host: opts.host })
  return fastify
}

/** The metrics listener on METRICS_PORT, as a closer for the shutdown order. */
export async function metricsListener (config: Config, log: Logger, metrics: Metrics, readiness: MetricsServerOptions['readiness']): Promise<() => Promise<void>> {
  const server = await startMetricsServer({ port: config.metricsPort as number, host: config.host, metrics, readiness, production: config.production, adminBasicAuth: config.adminBasicAuth, open: config.metricsPortOpen, log })
  return async () => { await server.close() }
}
