// Builds the Fastify instance for the web role and wires its dependencies.
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { KeyObject } from 'node:crypto'
import { Queue } from 'bullmq'
import type { Config } from './config.js'
import type { Logger } from './log.js'
import { app } from './app.js'
import { createIntake } from './inbound/intake.js'
import { QUEUE, TIMELINE_QUEUE, type JobMap } from './queue/jobs.js'
import { createHttpRedis } from './redis.js'
import { limits } from './limits.js'

export interface WebDeps {
  config: Config
  log: Logger
  sealPublicKey: KeyObject
  inboundSecret?: string
}

export interface Web {
  fastify: FastifyInstance
  close: () => Promise<void>
}

export async function buildWeb (deps: WebDeps): Promise<Web> {
  const { config } = deps
  const redis = createHttpRedis(config.redisUrl)
  redis.on('error', (err) => deps.log.warn({ err: { message: err.message } }, 'redis (web) error'))
  const queue = new Queue<JobMap['process-report']>(QUEUE, { connection: redis, prefix: config.queuePrefix })
  queue.on('error', (err) => deps.log.warn({ err: { message: err.message } }, 'queue (web) error'))
  const timelineQueue = config.githubWebhookSecret !== undefined ? new Queue(TIMELINE_QUEUE, { connection: redis, prefix: config.queuePrefix }) : undefined
  timelineQueue?.on('error', (err) => deps.log.warn({ err: { message: err.message } }, 'timeline queue (web) error'))
  await readyOrTimeout(redis, 3000) // start anyway when Redis is down: inbound then answers 503
  const accept = createIntake({ redis, queue, sealKey: deps.sealPublicKey, prefix: config.queuePrefix, retry: config })

  const fastify: FastifyInstance = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: limits.rawMessageBytes,
    trustProxy: true,
    requestIdHeader: 'x-request-id'
  })
  await fastify.register(app, { config, redis, accept, ...(deps.inboundSecret !== undefined ? { inboundSecret: deps.inboundSecret } : {}), ...(timelineQueue !== undefined ? { timelineQueue } : {}) })
  return {
    fastify,
    close: async () => {
      await fastify.close()
      await queue.close()
      await timelineQueue?.close()
      redis.disconnect()
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
