// The web role as a Fastify plugin: everything HTTP is registered here. It holds the
// seal *public* key only; nothing in this file can read a report.
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import type { Config } from '../config.js'
import type { Accept } from '../inbound/intake.js'
import { inboundRoutes } from '../inbound/routes.js'
import type { FetchText } from '../inbound/sns-verify.js'
import { opsRoutes, type OpsDeps } from '../ops/routes.js'
import type { Queue } from 'bullmq'
import { githubWebhookRoute } from '../inbound/github-webhook.js'
import { keyRoutes } from '../keys/routes.js'

export interface AppDeps {
  config: Config
  redis: Redis
  accept: Accept
  /** Health, metrics, dashboard, load shedding. */
  ops: OpsDeps
  /** The raw endpoint's secret (config or the development secret). */
  inboundSecret?: string
  /** Outbound GETs of the SES endpoint (SNS certificates, SubscribeURL); tests inject it. */
  fetchText?: FetchText
  /** The timeline queue, for GitHub webhooks (present when GITHUB_WEBHOOK_SECRET is set). */
  timelineQueue?: Queue
}

export async function app (fastify: FastifyInstance, deps: AppDeps): Promise<void> {
  // Raw messages must reach us as bytes: 8-bit content and CRLFs are signed over.
  fastify.addContentTypeParser(['message/rfc822', 'application/octet-stream'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body))

  fastify.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode ?? 500
    // 503 is load shedding (under-pressure): expected, said to the client, not logged per request.
    if (status >= 500 && status !== 503) req.log.error({ err: { name: err.name, message: err.message } }, 'request failed')
    if (status === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', '5') // providers wait that long, then retry
    return reply.code(status).send({ error: status < 500 || status === 503 ? err.message : 'internal error' })
  })

  await opsRoutes(fastify, deps.ops)

  // The team's public key by every route reporters look: /pgp-key.asc, WKD, HKP, security.txt, /.
  await fastify.register(keyRoutes, {
    keysDir: deps.config.keysDir,
    production: deps.config.production,
    securityEmail: deps.config.securityEmail,
    publicUrl: deps.config.publicUrl,
    redis: deps.redis,
    queuePrefix: deps.config.queuePrefix
  })

  // An inbound endpoint whose secret is unset is not registered at all (404), never open.
  await fastify.register(inboundRoutes, {
    config: deps.config,
    redis: deps.redis,
    accept: deps.accept,
    ...(deps.inboundSecret !== undefined ? { inboundSecret: deps.inboundSecret } : {}),
    ...(deps.fetchText !== undefined ? { fetchText: deps.fetchText } : {})
  })
  if (deps.config.githubWebhookSecret !== undefined && deps.timelineQueue !== undefined) {
    await githubWebhookRoute(fastify, { secret: deps.config.githubWebhookSecret, queue: deps.timelineQueue })
  }
}
