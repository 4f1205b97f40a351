// The one typed job map: queue names, job names, payloads and options. Payloads hold
// ids and metadata only; the report itself lives sealed under `keys.sealed(id)`.
import type { JobsOptions } from 'bullmq'

export const QUEUE = 'reports'
/** SECURITY.md timelines: delayed reminder checks and advisory state changes. */
export const TIMELINE_QUEUE = 'timeline'

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
  /** Timeline queue: check the advisory's state, then remind the team if it is still unpublished. */
  'advisory-reminder': AdvisoryJobRef & {
    intakeId: string
    /** 0: fix team (24 h), 1: fix (7 d), 2: release (21 d), 3+: overdue repeats. */
    step: number
    urgent: boolean
  }
  /** Timeline queue: GitHub said (webhook) that this advisory changed; check it now. */
  'advisory-event': AdvisoryJobRef & { action: string }
  /** Timeline queue: 1-3 days after publication, remind the team of the retrospective. */
  retrospective: AdvisoryJobRef & { intakeId: string, publishedAt: string }
  /** Timeline queue: post the release announcement (once the advisory is published; at most once). */
  announce: AdvisoryJobRef & { intakeId: string }
}

export interface AdvisoryJobRef {
  owner: string
  repo: string
  ghsaId: string
}

export type TimelineJobName = 'advisory-reminder' | 'advisory-event' | 'retrospective' | 'announce'
export type TimelineJobData = JobMap[TimelineJobName]

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
    /** The report's event record (store/events.ts). */
    events: (id: string) => `${base}:events:${id}`,
    lock: (id: string) => `${base}:lock:${id}`,
    /** GHSA id -> the intake it was filed from (for webhooks, which know only the advisory). */
    advisory: (ghsaId: string) => `${base}:advisory:${ghsaId}`,
    /** An SNS MessageId (hashed) already taken, with the answer it got (inbound/sns-once.ts). */
    snsMessage: (hash: string) => `${base}:sns:${hash}`,
    quarantine: `${base}:quarantine`,
    all: `${prefix}:*`
  }
}
