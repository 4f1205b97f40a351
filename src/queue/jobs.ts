// The one typed job map: queue names, job names, payloads and options. Payloads hold
// ids and metadata only; the report itself lives sealed under `keys.sealed(id)`.
import type { JobsOptions } from 'bullmq'

export const QUEUE = 'reports'

export interface JobMap {
  /** Open, decrypt and file one report that arrived at an inbound endpoint. */
  'process-report': {
    intakeId: string
    receivedAt: string
    /** Which endpoint took it (raw, mailgun, ...). */
    source: string
    /** Set when an operator replays a quarantined report. */
    replay?: number
  }
}

export type JobName = keyof JobMap

export function jobOptions (retry: { jobAttempts: number, jobBackoffMs: number }): JobsOptions {
  return {
    attempts: retry.jobAttempts,
    backoff: { type: 'exponential', delay: retry.jobBackoffMs },
    removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
    removeOnFail: { age: 30 * 24 * 3600, count: 10_000 }
  }
}

/** Redis keys the gateway itself owns, beside BullMQ's, under the same prefix. */
export function gatewayKeys (prefix: string) {
  const base = `${prefix}:gw`
  return {
    sealed: (id: string) => `${base}:sealed:${id}`,
    seen: (hash: string) => `${base}:seen:${hash}`,
    state: (id: string) => `${base}:state:${id}`,
    lock: (id: string) => `${base}:lock:${id}`,
    quarantine: `${base}:quarantine`,
    all: `${prefix}:*`
  }
}
