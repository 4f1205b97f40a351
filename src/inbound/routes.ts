// Every inbound endpoint, in one encapsulated scope: per-IP rate limiting (Redis-backed,
// shared by all web processes), the byte-faithful form parsers, and one route per
// provider whose secret is configured. An endpoint without its secret is never
// registered (404), never open.
import type { FastifyInstance } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import multipart from '@fastify/multipart'
import type { Redis } from 'ioredis'
import type { Config } from '../config.js'
import type { Accept } from './intake.js'
import { rawRoute } from './raw-route.js'
import { mailgunRoute } from './mailgun.js'
import { sendgridRoute } from './sendgrid.js'
import { postmarkRoute } from './postmark.js'
import { sesRoute } from './ses.js'
import { recipientFilter } from './recipients.js'
import { defaultFetchText, snsVerifier, type FetchText } from './sns-verify.js'
import type { DeliverDeps } from './deliver.js'
import { admitBodies, bodyBudget, bodyCapacity } from './body-budget.js'
import { memoryLimitBytes } from '../ops/memory.js'

export interface InboundRoutesDeps {
  config: Config
  redis: Redis
  accept: Accept
  inboundSecret?: string
  /** GETs of SNS certificates and SubscribeURLs (tests inject it: no network). */
  fetchText?: FetchText
}

export async function inboundRoutes (app: FastifyInstance, deps: InboundRoutesDeps): Promise<void> {
  const { config, redis } = deps
  const maxBytes = config.inboundMaxBytes
  await app.register(rateLimit, {
    global: true,
    max: config.inboundRateLimit.max,
    timeWindow: config.inboundRateLimit.windowSeconds * 1000,
    allowList: config.inboundRateLimitExempt,
    redis,
    nameSpace: `${config.queuePrefix}:gw:rate:`,
    // Redis down: let the request through to answer 503 itself (the provider retries),
    // rather than a 500 from the limiter.
    skipOnError: true
  })
  // After the rate limiter (onRequest): refused clients never hold body bytes.
  const budget = bodyBudget(bodyCapacity(memoryLimitBytes(config.webMemoryMb), maxBytes))
  app.log.info({ capacityMb: Math.round(budget.capacity / 1048576) }, 'inbound: request bodies admitted within a memory budget')
  admitBodies(app, budget)
  // Byte-faithful: @fastify/formbody would leave non-UTF-8 escapes undecoded (src/inbound/forms.ts decodes).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer', bodyLimit: maxBytes }, (_req, body, done) => done(null, body))
  await app.register(multipart, { limits: { fileSize: maxBytes } })

  const deliverDeps: DeliverDeps = {
    accept: deps.accept,
    redis,
    prefix: config.queuePrefix,
    addressedToUs: recipientFilter([config.securityEmail, ...config.securityAliases])
  }
  if (deps.inboundSecret !== undefined) await rawRoute(app, { accept: deps.accept, redis, secret: deps.inboundSecret, maxBytes })
  if (config.mailgunSigningKey !== undefined) await mailgunRoute(app, { ...deliverDeps, signingKey: config.mailgunSigningKey, maxBytes })
  if (config.inboundBasicAuth !== undefined) {
    await sendgridRoute(app, { ...deliverDeps, basicAuth: config.inboundBasicAuth, maxBytes })
    await postmarkRoute(app, { ...deliverDeps, basicAuth: config.inboundBasicAuth, maxBytes })
  }
  if (config.sesTopicArns !== undefined) {
    const fetchText = deps.fetchText ?? defaultFetchText()
    await sesRoute(app, { ...deliverDeps, topicArns: config.sesTopicArns, verify: snsVerifier(fetchText), confirmSubscription: config.sesConfirmSubscription, fetchText, maxBytes })
  }
}
