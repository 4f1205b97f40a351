// One run per report at a time. BullMQ can start a second run of the same intake (a
// job whose lock expired while it was still working, or an operator's replay during a
// retry); two runs would both see "no advisory yet" and both file one. The lock is
// renewed while the run lasts, so a crashed worker's lock expires within LOCK_MS.
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { gatewayKeys } from '../queue/jobs.js'

const LOCK_MS = 90_000
const RENEW_MS = 30_000

// Delete / extend only if the lock is still ours.
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
const RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end"

export class ReportBusyError extends Error {
  constructor (intakeId: string) {
    super(`report ${intakeId} is being processed by another run; retrying later`)
    this.name = 'ReportBusyError'
  }
}

/** Locks this process holds, so a shutdown can hand over the runs it abandons. */
const held = new Map<string, { redis: Redis, token: string, renew: NodeJS.Timeout }>()

export async function withReportLock<T> (redis: Redis, prefix: string, intakeId: string, fn: () => Promise<T>): Promise<T> {
  const key = gatewayKeys(prefix).lock(intakeId)
  const token = randomUUID()
  if (await redis.set(key, token, 'PX', LOCK_MS, 'NX') === null) throw new ReportBusyError(intakeId)
  const renew = setInterval(() => { redis.eval(RENEW, 1, key, token, LOCK_MS).catch(() => {}) }, RENEW_MS)
  held.set(key, { redis, token, renew })
  try {
    return await fn()
  } finally {
    clearInterval(renew)
    if (held.get(key)?.token === token) held.delete(key)
    await redis.eval(RELEASE, 1, key, token).catch(() => {})
  }
}

/**
 * Releases the lock of a run this process gave up at shutdown (its job is back in the
 * queue), so the next worker need not wait LOCK_MS for it. The run itself stops at its
 * next progress record (see ops/abandon.ts).
 */
export async function releaseReportLock (prefix: string, intakeId: string): Promise<void> {
  const key = gatewayKeys(prefix).lock(intakeId)
  const lock = held.get(key)
  if (lock === undefined) return
  held.delete(key)
  clearInterval(lock.renew)
  await lock.redis.eval(RELEASE, 1, key, lock.token).catch(() => {})
}
