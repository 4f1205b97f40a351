// Liveness and readiness. /healthz says the process answers (never touches Redis, never
// shed under pressure); /readyz says this instance can do its work now: Redis answers,
// the keys its role needs are loaded, the queue is not paused. Readiness is cached for
// a moment so a busy load balancer probing it costs one PING, not one per probe.
import type { FastifyInstance } from 'fastify'
import type { Queue } from 'bullmq'
import type { Redis } from 'ioredis'

export interface ReadinessCheck {
  name: string
  check: () => Promise<{ ok: boolean, detail?: string }>
}

export interface Readiness {
  ok: boolean
  checks: Record<string, { ok: boolean, detail?: string }>
}

const CHECK_TIMEOUT_MS = 1000

export function redisCheck (name: string, redis: Redis): ReadinessCheck {
  return {
    name,
    async check () {
      if (redis.status !== 'ready') return { ok: false, detail: redis.status }
      await withTimeout(redis.ping(), CHECK_TIMEOUT_MS)
      return { ok: true }
    }
  }
}

export function queueCheck (queue: Queue): ReadinessCheck {
  return {
    name: `queue:${queue.name}`,
    async check () {
      const paused = await withTimeout(queue.isPaused(), CHECK_TIMEOUT_MS)
      return paused ? { ok: false, detail: 'paused' } : { ok: true }
    }
  }
}

export function keyCheck (name: string, loaded: () => boolean): ReadinessCheck {
  return { name, check: async () => loaded() ? { ok: true } : { ok: false, detail: 'not loaded' } }
}

/** A readiness probe that runs its checks at most once per `cacheMs`. */
export function readinessProbe (checks: ReadinessCheck[], cacheMs = 500): () => Promise<Readiness> {
  let cached: { at: number, value: Promise<Readiness> } | undefined
  return async () => {
    const now = Date.now()
    if (cached === undefined || now - cached.at >= cacheMs) cached = { at: now, value: runChecks(checks) }
    return await cached.value
  }
}

async function runChecks (checks: ReadinessCheck[]): Promise<Readiness> {
  const results = await Promise.all(checks.map(async (c) => {
    try {
      return [c.name, await c.check()] as const
    } catch (err) {
      return [c.name, { ok: false, detail: (err as Error).message.slice(0, 100) }] as const
    }
  }))
  return { ok: results.every(([, r]) => r.ok), checks: Object.fromEntries(results) }
}

export function healthRoutes (fastify: FastifyInstance, probe: () => Promise<Readiness>): void {
  // Liveness answers even under pressure: shedding it would get a slow but healthy
  // machine restarted in the middle of its work.
  fastify.get('/healthz', { config: { pressureHandler: () => undefined } }, async () => ({ ok: true }))
  fastify.get('/readyz', async (_req, reply) => {
    const readiness = await probe()
    return await reply.code(readiness.ok ? 200 : 503).send(readiness)
  })
}

function withTimeout<T> (promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms) })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
