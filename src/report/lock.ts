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

export async function withReportLock<T> (redis: Redis, prefix: string, intakeId: string, fn: () => Promise<T>): Promise<T> {
  const key = gatewayKeys(prefix).lock(intakeId)
  const token = randomUUID()
  if (await redis.set(key, token, 'PX', LOCK_MS, 'NX') === null) throw new ReportBusyError(intakeId)
  const renew = setInterval(() => { redis.eval(RENEW, 1, key, token, LOCK_MS).catch(() => {}) }, RENEW_MS)
  try {
    return await fn()
  } finally {
    clearInterval(renew)
    await redis.eval(RELEASE, 1, key, token).catch(() => {})
  }
}
