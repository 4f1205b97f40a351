// Request bodies in memory at once. Fastify buffers each inbound body whole, and taking
// one in (concatenating, framing, sealing, writing to Redis) holds a few copies of it:
// 20 providers posting 25 MB each would need ~2 GB. Bodies are admitted by bytes within
// the web role's memory; beyond it the answer is 503 + Retry-After, which every provider
// retries, before the body is read (Content-Length) or as soon as a chunked body outgrows
// its share, never after buffering it.
import { Transform, pipeline, type TransformCallback } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/** Copies of a body held while it is taken in (measured ~3.6 for 25 MB: chunks, concat, frame, seal). */
export const BODY_COPIES = 4
/** The web role's own memory before any body: Node, Fastify, BullMQ, ioredis (measured ~175 MiB RSS). */
export const WEB_BASELINE_BYTES = 192 * 1024 * 1024
const RETRY_AFTER_SECONDS = '5'

export interface BodyBudget {
  readonly capacity: number
  readonly used: number
  take: (bytes: number) => boolean
  give: (bytes: number) => void
}

export function bodyBudget (capacity: number): BodyBudget {
  let used = 0
  return {
    capacity,
    get used () { return used },
    take (bytes) {
      // One body alone is always admitted, so the largest allowed message can get in.
      if (used > 0 && used + bytes > capacity) return false
      used += bytes
      return true
    },
    give (bytes) { used = Math.max(0, used - bytes) }
  }
}

/** Body bytes in flight for a memory size, never less than one largest body. */
export function bodyCapacity (memoryBytes: number, maxBodyBytes: number): number {
  return Math.max(maxBodyBytes, Math.floor((memoryBytes - WEB_BASELINE_BYTES) / BODY_COPIES))
}

class Over extends Error {
  statusCode = 503
  constructor () { super('too many large requests at once; retry later') }
}

/** preParsing for every route of the scope: reserve the body's bytes, or answer 503. */
export function admitBodies (app: FastifyInstance, budget: BodyBudget): void {
  app.addHook('preParsing', async (req: FastifyRequest, reply: FastifyReply, payload) => {
    const declared = Number(req.headers['content-length'])
    const limit = req.routeOptions.bodyLimit ?? Infinity
    if (declared > limit) return payload // Fastify answers 413 without reading it
    let held = 0
    // 'close' comes once the answer is sent or the client is gone: the body is then garbage.
    reply.raw.once('close', () => { budget.give(held); held = 0 })
    if (Number.isInteger(declared) && declared >= 0) {
      if (!budget.take(declared)) return await shed(req, reply, budget, declared)
      held = declared
      return payload
    }
    // Chunked: take each chunk's bytes as it arrives.
    const counted = new Transform({
      transform (chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) {
        if (!budget.take(chunk.length)) {
          void reply.header('retry-after', RETRY_AFTER_SECONDS)
          done(new Over())
          return
        }
        held += chunk.length
        done(null, chunk)
      }
    })
    pipeline(payload, counted, () => {}) // a client that goes away ends the counted stream too
    return counted
  })
}

async function shed (req: FastifyRequest, reply: FastifyReply, budget: BodyBudget, bytes: number) {
  req.log.warn({ bytes, inFlight: budget.used, capacity: budget.capacity }, 'inbound: body budget full, answering 503')
  return await reply.code(503).header('retry-after', RETRY_AFTER_SECONDS).send({ error: 'too many large requests at once; retry later' })
}
