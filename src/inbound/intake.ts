// Accepting a message: seal it, store it, queue it, and only then say so. The order
// matters: the "seen" marker that makes redeliveries answer the same id is written
// last, so a failure anywhere before it leaves the provider free to retry (503).
import { createHash } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import type { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import { sealParts } from '../seal/hpke.js'
import { gatewayKeys, jobOptions, type JobMap } from '../queue/jobs.js'
import { headerBoundary, messageId } from './message-head.js'
import { threadIndex } from '../store/thread-index.js'
import { seenMarkers } from '../store/seen.js'
import { execAll, withCommands } from '../store/exec.js'
import { payloadParts } from '../seal/payload.js'
import type { InboundMeta } from '../domain/inbound.js'

export interface IntakeDeps {
  redis: Redis
  queue: Queue<JobMap['process-report']>
  sealKey: KeyObject
  prefix: string
  retry: { jobAttempts: number, jobBackoffMs: number }
}

export interface Accepted {
  id: string
  duplicate: boolean
}

/**
 * The same delivery: same Message-ID and same body (relays prepend trace headers, so
 * the header block may differ), or the same bytes when there is no Message-ID. The
 * body is part of it so a different message reusing a known Message-ID is a new
 * intake, never silently taken for a redelivery.
 */
export function deliveryHash (raw: Buffer): string {
  const id = messageId(raw)
  const h = createHash('sha256')
  if (id !== undefined) h.update('message-id\0').update(id).update('\0body\0').update(raw.subarray(headerBoundary(raw).bodyStart))
  else h.update('bytes\0').update(raw)
  return h.digest('hex')
}

export function intakeIdFor (hash: string): string {
  return hash.slice(0, 24)
}

export function createIntake (deps: IntakeDeps) {
  const keys = gatewayKeys(deps.prefix)
  const seenBefore = seenMarkers(deps.redis, deps.prefix)
  const threads = threadIndex(deps.redis, deps.prefix)
  /** `meta` (provider envelope and verdicts) is sealed together with the raw bytes. */
  return async function accept (raw: Buffer, source: string, meta?: InboundMeta): Promise<Accepted> {
    const hash = deliveryHash(raw)
    const seen = await seenBefore.get(hash)
    if (seen !== null) return { id: seen, duplicate: true }

    const id = intakeIdFor(hash)
    // NX: a sealed copy that is already there (an earlier, interrupted delivery of this
    // same message) is never replaced.
    // With it, in the same round trip: Message-ID (hashed) -> intake id, so a reply that
    // overtakes its report still joins it.
    const sealed = await sealParts(deps.sealKey, payloadParts(raw, meta), id)
    await execAll(withCommands(deps.redis.pipeline().set(keys.sealed(id), sealed, 'NX'), threads.rememberFirstCommands(messageId(raw), id)))
    // jobId = intake id: BullMQ ignores a second add while the first job exists.
    await deps.queue.add('process-report', { intakeId: id, receivedAt: new Date().toISOString(), source }, { ...jobOptions(deps.retry), jobId: id })
    await seenBefore.remember(hash, id)
    return { id, duplicate: false }
  }
}

export type Accept = ReturnType<typeof createIntake>
