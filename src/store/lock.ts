// One run per report at a time. BullMQ can start a second run of the same intake (a
// job whose lock expired while it was still working, or an operator's replay during a
// retry); two runs would both see "no advisory yet" and both file one. The lock is
// renewed while the run lasts, so a crashed worker's lock expires within LOCK_MS.
import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { gatewayKeys } from '../queue/jobs.js'
import { luaScript } from './exec.js'

/**
 * BullMQ's lock on a running job (the Worker's lockDuration; BullMQ renews it every
 * half). A killed worker's job is seen stalled at the first stalled check
 * (JOB_STALLED_CHECK_MS) after that lock has expired, and runs again: within
 * JOB_LOCK_MS + JOB_STALLED_CHECK_MS (20 s) of the kill.
 */
export const JOB_LOCK_MS = 16_000
export const JOB_STALLED_CHECK_MS = 4_000
/**
 * At most half the job lock: BullMQ's lock outlives a kill by at least half its
 * duration, so the report lock of a killed run has expired before the job runs again
 * (a run that found it still held would fail with ReportBusyError and wait a backoff).
 */
const LOCK_MS = JOB_LOCK_MS / 2
const RENEW_MS = LOCK_MS / 4

// Delete / extend only if the lock is still ours.
const release = luaScript("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end")
const renew = luaScript("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end")

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
  const renewing = setInterval(() => { renew(redis, [key], [token, LOCK_MS]).catch(() => {}) }, RENEW_MS)
  held.set(key, { redis, token, renew: renewing })
  try {
    return await fn()
  } finally {
    clearInterval(renewing)
    if (held.get(key)?.token === token) held.delete(key)
    await release(redis, [key], [token]).catch(() => {})
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
  await release(lock.redis, [key], [lock.token]).catch(() => {})
}

export interface WaitingLockOptions {
  /** Expiry of the key, renewed every third of it while `fn` runs. */
  lockMs: number
  /** How long to wait for a turn before `busy()` is thrown. */
  waitMs: number
  busy: () => Error
}

/**
 * One holder of `key` at a time; the others wait their turn (short critical sections,
 * like a follow-up's read-modify-write of an advisory). Renewed while `fn` runs: a
 * slow GitHub answer must not let a second writer in, which would overwrite the first
 * one's append with a description read before it.
 */
export async function withWaitingLock<T> (redis: Redis, key: string, opts: WaitingLockOptions, fn: () => Promise<T>): Promise<T> {
  const token = randomUUID()
  const until = Date.now() + opts.waitMs
  while (await redis.set(key, token, 'PX', opts.lockMs, 'NX') === null) {
    if (Date.now() > until) throw opts.busy()
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(Math.random() * 50)))
  }
  const renewing = setInterval(() => { renew(redis, [key], [token, opts.lockMs]).catch(() => {}) }, Math.max(10, Math.floor(opts.lockMs / 3)))
  try {
    return await fn()
  } finally {
    clearInterval(renewing)
    await release(redis, [key], [token]).catch(() => {})
  }
}
