// Everything an operator reaches over HTTP: load shedding, health, metrics, the queue
// dashboard, and the per-provider answer counter on every inbound route.
import type { FastifyInstance } from 'fastify'
import underPressure from '@fastify/under-pressure'
import type { Queue } from 'bullmq'
import { adminGuard } from './admin-auth.js'
import { dashboardRoutes } from './dashboard.js'
import { healthRoutes, type Readiness } from './health.js'
import { providerOfRoute, type Metrics } from './metrics.js'

export interface OpsDeps {
  metrics: Metrics
  readiness: () => Promise<Readiness>
  queues: Queue[]
  production: boolean
  adminBasicAuth?: string | undefined
  dashboardReadOnly: boolean
  maxEventLoopDelayMs: number
}

export async function opsRoutes (fastify: FastifyInstance, deps: OpsDeps): Promise<void> {
  // 503 + Retry-After before the event loop stalls: providers retry, nothing is lost.
  await fastify.register(underPressure, { maxEventLoopDelay: deps.maxEventLoopDelayMs, retryAfter: 30, message: 'under pressure, retry later' })
  // The id of each request's log lines, echoed so a provider's delivery log can be matched.
  fastify.addHook('onRequest', async (req, reply) => { reply.header('x-request-id', req.id) })
  healthRoutes(fastify, deps.readiness)
  inboundAnswers(fastify, deps.metrics)
  const guard = adminGuard({ adminBasicAuth: deps.adminBasicAuth, production: deps.production })
  if (guard === undefined) return // production without ADMIN_BASIC_AUTH: no admin routes at all (404)
  metricsRoute(fastify, deps.metrics, guard)
  await dashboardRoutes(fastify, { queues: deps.queues, guard, readOnly: deps.dashboardReadOnly })
}

/** One count per inbound answer. The provider comes from the route template, so each
 * adapter added under /inbound/<provider> is counted without touching this file. */
function inboundAnswers (fastify: FastifyInstance, metrics: Metrics): void {
  fastify.addHook('onResponse', async (req, reply) => {
    const provider = providerOfRoute(req.routeOptions.url) ?? (req.url.startsWith('/inbound/') ? 'unknown' : undefined)
    if (provider !== undefined) metrics.inboundRequests.inc({ provider, status: String(reply.statusCode) })
  })
}

export function metricsRoute (fastify: FastifyInstance, metrics: Metrics, guard: NonNullable<ReturnType<typeof adminGuard>>): void {
  fastify.get('/metrics', { onRequest: guard }, async (_req, reply) => {
    const text = await metrics.registry.metrics()
    return await reply.header('content-type', metrics.registry.contentType).send(text)
  })
}
