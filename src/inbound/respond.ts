// The answer every inbound endpoint gives once it has a message: 200 with the intake
// id only when it is durably queued, 503 (fast) when Redis cannot take it.
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Redis } from 'ioredis'
import type { Accept } from './intake.js'
import type { InboundMeta } from '../domain/inbound.js'

// Providers wait 10 s to 2 min for an answer; answer 503 well before any of them gives up.
const ACCEPT_TIMEOUT_MS = 8000

export interface InboundDeps {
  accept: Accept
  redis: Redis
}

export async function replyAccepted (req: FastifyRequest, reply: FastifyReply, deps: InboundDeps, raw: Buffer, source: string, meta?: InboundMeta) {
  if (deps.redis.status !== 'ready') {
    req.log.error({ redis: deps.redis.status }, 'inbound: redis unavailable, answering 503')
    return unavailable(reply)
  }
  try {
    const { id, duplicate } = await withTimeout(deps.accept(raw, source, meta), ACCEPT_TIMEOUT_MS)
    req.log.info({ intakeId: id, duplicate, source, bytes: raw.length }, duplicate ? 'inbound: redelivery, nothing queued' : 'inbound: queued')
    return reply.code(200).send({ id })
  } catch (err) {
    req.log.error({ err: { message: (err as Error).message, name: (err as Error).name } }, 'inbound: could not queue, answering 503')
    return unavailable(reply)
  }
}

/** 503: every provider retries it later (the message stays with the provider meanwhile). */
export function unavailable (reply: FastifyReply, what = 'queue') {
  return reply.code(503).header('retry-after', '60').send({ error: `temporarily unable to ${what} the message` })
}

function withTimeout<T> (promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`queueing took longer than ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
