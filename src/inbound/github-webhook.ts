// POST /github/webhook: GitHub tells us an advisory changed (repository_advisory events),
// so publication is noticed at once instead of at the next reminder's poll. The web role
// only verifies and enqueues: the worker re-reads the advisory through the API and runs
// the same idempotent step as polling. Registered only when GITHUB_WEBHOOK_SECRET is set.
import type { FastifyInstance } from 'fastify'
import type { Queue } from 'bullmq'
import { createHmac } from 'node:crypto'
import { safeEqual } from './hmac.js'
import type { JobMap } from '../queue/jobs.js'

/** repository_advisory payloads are a few KiB; GitHub caps any payload at 25 MB. */
const maxBodyBytes = 1024 * 1024
const GHSA = /^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$/
const NAME = /^[A-Za-z0-9_.-]{1,100}$/

export async function githubWebhookRoute (app: FastifyInstance, deps: { secret: string, queue: Queue }): Promise<void> {
  // Encapsulated: the signature is over the exact bytes, so this route reads JSON as a Buffer.
  await app.register(async (scope) => {
    scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_req, body, done) => done(null, body))
    scope.post('/github/webhook', { bodyLimit: maxBodyBytes }, async (req, reply) => {
      const body = req.body
      const signature = header(req.headers['x-hub-signature-256'])
      if (!Buffer.isBuffer(body) || body.length === 0 || signature === undefined || !verified(deps.secret, body, signature)) {
        req.log.warn('github webhook: signature did not verify')
        return reply.code(401).send({ error: 'signature did not verify' })
      }
      const event = header(req.headers['x-github-event'])
      if (event === 'ping') return reply.code(200).send({ ok: true })
      if (event !== 'repository_advisory') return reply.code(202).send({ ignored: event ?? 'no event' })
      const data = advisoryEvent(body)
      if (data === undefined) return reply.code(400).send({ error: 'not a repository_advisory payload' })
      const delivery = header(req.headers['x-github-delivery'])
      // Redeliveries of one delivery id queue nothing new; the worker's step is idempotent anyway.
      const jobId = delivery !== undefined && /^[0-9A-Za-z-]{1,64}$/.test(delivery) ? `gh-${delivery}` : `gh-${data.ghsaId}-${data.action}`
      try {
        await deps.queue.add('advisory-event', data, { jobId, attempts: 8, backoff: { type: 'exponential', delay: 30_000 }, removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 }, removeOnFail: { age: 30 * 24 * 3600, count: 10_000 } })
      } catch {
        return reply.code(503).send({ error: 'could not queue the event' }) // GitHub lets the team redeliver
      }
      req.log.info({ ghsaId: data.ghsaId, action: data.action }, 'github webhook: advisory event queued')
      return reply.code(202).send({ queued: data.ghsaId })
    })
  })
}

function advisoryEvent (body: Buffer): JobMap['advisory-event'] | undefined {
  let payload: unknown
  try {
    payload = JSON.parse(body.toString('utf8'))
  } catch {
    return undefined
  }
  const p = payload as { action?: unknown, repository_advisory?: { ghsa_id?: unknown }, repository?: { name?: unknown, owner?: { login?: unknown } } }
  const ghsaId = p.repository_advisory?.ghsa_id
  const owner = p.repository?.owner?.login
  const repo = p.repository?.name
  const action = typeof p.action === 'string' && /^[a-z_]{1,40}$/.test(p.action) ? p.action : 'unknown'
  if (typeof ghsaId !== 'string' || !GHSA.test(ghsaId) || typeof owner !== 'string' || !NAME.test(owner) || typeof repo !== 'string' || !NAME.test(repo)) return undefined
  return { ghsaId, owner, repo, action }
}

/**
 * X-Hub-Signature-256 over the bytes exactly as received: not over a decoded string,
 * where bytes that are not UTF-8 become U+FFFD, so two different bodies would verify
 * with one signature. Constant time.
 */
function verified (secret: string, body: Buffer, signature: string): boolean {
  return safeEqual(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`, signature.trim().toLowerCase())
}

function header (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
