// Builds the Fastify instance for the web role and wires its dependencies.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { randomUUID, type KeyObject } from 'node:crypto'
import { Queue } from 'bullmq'
import type { Config } from '../config.js'
import type { Logger } from '../log.js'
import { app } from './web-app.js'
import { createIntake } from '../inbound/intake.js'
import { QUEUE, TIMELINE_QUEUE, type JobMap } from '../queue/jobs.js'
import { createHttpRedis } from '../redis.js'
import { quit } from '../lifecycle.js'
import type { FetchText } from '../inbound/sns-verify.js'
import { createMetrics, type Metrics } from '../ops/metrics.js'
import { observedAccept } from '../ops/instrument.js'
import { keyCheck, queueCheck, readinessProbe, redisCheck, type ReadinessCheck } from '../ops/health.js'

export interface WebDeps {
  config: Config
  log: Logger
  sealPublicKey: KeyObject
  inboundSecret?: string
  /** Outbound GETs of the SES endpoint (SNS certificates, SubscribeURL); tests inject it. */
  fetchText?: FetchText
  /** The process's registry (main.ts shares one between roles); a fresh one otherwise. */
  metrics?: Metrics
  /** More readiness checks (the in-process worker's, in the `all` role). */
  readinessChecks?: ReadinessCheck[]
}

export interface Web {
  fastify: FastifyInstance
  metrics: Metrics
  readiness: ReturnType<typeof readinessProbe>
  close: () => Promise<void>
}

export async function buildWeb (deps: WebDeps): Promise<Web> {
  const { config } = deps
  // Two connections, as in the worker: BullMQ's (it defines its ~60 scripts on it, and
  // ioredis copies every defined command into each pipeline made there: 3 % of a
  // request's CPU) and a plain one for the gateway's own state.
  const queueRedis = createHttpRedis(config.redisUrl, 'intake-web-queue')
  queueRedis.on('error', (err) => deps.log.warn({ err: { message: err.message } }, 'redis (web queue) error'))
  const redis = createHttpRedis(config.redisUrl, 'intake-web-state')
  redis.on('error', (err) => deps.log.warn({ err: { message: err.message } }, 'redis (web) error'))
  const queue = new Queue<JobMap['process-report']>(QUEUE, { connection: queueRedis, prefix: config.queuePrefix })
  queue.on('error', (err) => deps.log.warn({ err: { message: err.message } }, 'queue (web) error'))
  const timelineQueue = config.githubWebhookSecret !== undefined ? new Queue(TIMELINE_QUEUE, { connection: queueRedis, prefix: config.queuePrefix }) : undefined
  timelineQueue?.on('error', (err) => deps.log.warn({ err: { message: err.message } }, 'timeline queue (web) error'))
  // start anyway when Redis is down: inbound then answers 503
  await Promise.all([readyOrTimeout(redis, 3000), readyOrTimeout(queueRedis, 3000)])
  const metrics = deps.metrics ?? createMetrics()
  metrics.watchQueue(queue)
  const accept = observedAccept(createIntake({ redis, queue, sealKey: deps.sealPublicKey, prefix: config.queuePrefix, retry: config }), metrics)
  const readiness = readinessProbe([
    redisCheck('redis', redis),
    queueCheck(queue),
    keyCheck('seal-public-key', () => deps.sealPublicKey.asymmetricKeyType === 'x25519'),
    ...(deps.readinessChecks ?? [])
  ])

  const fastify: FastifyInstance = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: config.inboundMaxBytes,
    // Trusting every hop would let a client pick its own IP (and dodge the per-IP limit)
    // with one X-Forwarded-For header: only the configured proxies are believed.
    trustProxy: (_address: string, hop: number) => hop < config.trustProxy,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID() // unless a proxy already sent one
  })
  const ops = { metrics, readiness, queues: [queue, ...(timelineQueue !== undefined ? [timelineQueue] : [])], production: config.production, adminBasicAuth: config.adminBasicAuth, dashboardReadOnly: config.dashboardReadOnly, maxEventLoopDelayMs: config.maxEventLoopDelayMs }
  await fastify.register(app, { config, redis, accept, ops, ...(deps.inboundSecret !== undefined ? { inboundSecret: deps.inboundSecret } : {}), ...(deps.fetchText !== undefined ? { fetchText: deps.fetchText } : {}), ...(timelineQueue !== undefined ? { timelineQueue } : {}) })
  return {
    fastify,
    metrics,
    readiness,
    // Stop accepting and answer what is in flight (fastify.close), then Redis last.
    close: async () => {
      await closeHttp(fastify)
      await queue.close()
      await timelineQueue?.close()
      await quit(queueRedis)
      await quit(redis)
    }
  }
}

function readyOrTimeout (redis: ReturnType<typeof createHttpRedis>, ms: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    redis.once('ready', done)
    function done () { clearTimeout(timer); redis.off('ready', done); resolve() }
  })
}

/**
 * fastify.close() stops accepting and answers 503 to new requests on open connections;
 * Node closes the connections idle at that moment, but one whose request was in flight
 * stays open for keepAliveTimeout (72 s) once answered. Reap those as they go idle.
 */
async function closeHttp (fastify: FastifyInstance): Promise<void> {
  const closing = fastify.close()
  const reaper = setInterval(() => { fastify.server.closeIdleConnections() }, 50)
  try {
    await closing
  } finally {
    clearInterval(reaper)
  }
}
