// Request bodies in memory at once. Fastify buffers each inbound body whole, and taking
// one in (concatenating, framing, sealing, writing to Redis) holds a few copies of it:
// 20 providers posting 25 MB each would need ~2 GB. Bodies are admitted by bytes within
// the web role's memory; beyond it the answer is 503 + Retry-After, which every provider
// retries, before the body is read: by its Content-Length, or for a chunked body by the
// most the route lets it grow to.
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

/**
 * A body that holds a reservation must keep arriving: after `graceMs`, at least
 * `minBytesPerSecond` on average, or the connection is closed (and its bytes given back).
 * Without it two clients declaring 40 MB and sending a byte now and then held the whole
 * budget for as long as they liked, and every provider got 503. Counted on the socket, so
 * nothing competes with the body's own reader (@fastify/multipart reads the request itself).
 */
export interface SlowBodyRule { minBytesPerSecond: number, graceMs: number, checkMs: number }

const slowBodyRule: SlowBodyRule = { minBytesPerSecond: 32 * 1024, graceMs: 10_000, checkMs: 1000 }

function watchArrival (req: FastifyRequest, bytes: number, rule: SlowBodyRule): () => void {
  const socket = req.raw.socket
  const start = socket.bytesRead
  const started = Date.now()
  const timer = setInterval(() => {
    const arrived = socket.bytesRead - start
    if (arrived >= bytes) return clearInterval(timer)
    const elapsed = Date.now() - started
    if (elapsed > rule.graceMs && arrived < (elapsed - rule.graceMs) / 1000 * rule.minBytesPerSecond) {
      clearInterval(timer)
      req.log.warn({ declared: bytes, arrived, ms: elapsed }, 'inbound: body arriving too slowly, connection closed')
      req.raw.destroy()
    }
  }, rule.checkMs)
  timer.unref()
  return () => clearInterval(timer)
}

/** preParsing for every route of the scope: reserve the body's bytes, or answer 503. */
export function admitBodies (app: FastifyInstance, budget: BodyBudget, rule: SlowBodyRule = slowBodyRule): void {
  app.addHook('preParsing', async (req: FastifyRequest, reply: FastifyReply, payload) => {
    const limit = req.routeOptions.bodyLimit ?? app.initialConfig.bodyLimit ?? 0
    const declared = Number(req.headers['content-length'])
    if (declared > limit) return payload // Fastify answers 413 without reading it
    // Chunked (no Content-Length): the most it may grow to. Counting it as it streams would
    // need a second reader of the request, and @fastify/multipart reads the socket itself.
    const bytes = Number.isInteger(declared) && declared >= 0 ? declared : limit
    if (!budget.take(bytes)) return await shed(req, reply, budget, bytes)
    const stop = watchArrival(req, bytes, rule)
    // 'close' comes once the answer is sent or the client is gone: the body is then garbage.
    reply.raw.once('close', () => { stop(); budget.give(bytes) })
    return payload
  })
}

async function shed (req: FastifyRequest, reply: FastifyReply, budget: BodyBudget, bytes: number) {
  req.log.warn({ bytes, inFlight: budget.used, capacity: budget.capacity }, 'inbound: body budget full, answering 503')
  return await reply.code(503).header('retry-after', RETRY_AFTER_SECONDS).send({ error: 'too many large requests at once; retry later' })
}
