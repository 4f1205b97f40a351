// The record of one report's life, from intake to retrospective: what `advisory
// timeline` prints and the retrospective draft is made of. One Redis hash per intake id;
// a field per event, written once (HSETNX), so a retried or replayed job records nothing
// twice and keeps the first time. Events that happen more than once carry their own
// suffix (`distributor-notice:<hash>`). Details are ids, counts, dates and outcomes:
// never report text, never an address.
import type { Redis } from 'ioredis'
import { gatewayKeys } from '../queue/jobs.js'
import { STATE_TTL_SECONDS } from './retention.js'
import { execAll } from './exec.js'

/** Every step SECURITY.md names, in the order it usually happens. */
const EVENT_KINDS = [
  'received', // the web role queued the message
  'decrypted', // the worker opened it (detail: encrypted or not, signature state)
  'quarantined', // it could not be processed (detail: code)
  'advisory-created', // draft advisory filed (detail: GHSA id)
  'collaborators-added', // Fix Team on the advisory (detail: counts)
  'acknowledged', // reply to the reporter (detail: encrypted or suppressed)
  'team-notified',
  'follow-up', // a later message of the thread (suffix: its intake id)
  'fork-created', // temporary private fork
  'cve-requested',
  'release-scheduled', // detail: the release day
  'distributor-notice', // one per distributor (suffix: a hash of the address)
  'published',
  'announced',
  'retrospective-sent'
] as const

export type EventKind = (typeof EVENT_KINDS)[number]

export interface ReportEvent {
  kind: EventKind
  /** ISO 8601 time it happened. */
  at: string
  /** Short, content-free: ids, counts, outcomes. */
  detail?: string
  /** Distinguishes repeated events of one kind (several distributor notices). */
  key?: string
}

const MAX_DETAIL = 300

export interface EventOptions { at?: Date | string, detail?: string, key?: string }

/** The hash field and value of one event: written once (HSETNX) wherever it is recorded. */
export function eventEntry (kind: EventKind, opts: EventOptions = {}): [field: string, value: string] {
  const field = opts.key === undefined ? kind : `${kind}:${opts.key}`
  const at = opts.at === undefined ? new Date().toISOString() : new Date(opts.at).toISOString()
  return [field, JSON.stringify({ at, ...(opts.detail === undefined ? {} : { detail: oneLine(opts.detail) }) })]
}

export function reportEvents (redis: Redis, prefix: string) {
  const keyOf = gatewayKeys(prefix).events
  return {
    /** Records an event once; returns false when it was already on record. */
    async record (intakeId: string, kind: EventKind, opts: EventOptions = {}): Promise<boolean> {
      const [field, value] = eventEntry(kind, opts)
      const key = keyOf(intakeId)
      const [added] = await execAll(redis.pipeline().hsetnx(key, field, value).expire(key, STATE_TTL_SECONDS))
      return added === 1
    },
    /** Replaces an event that may change (a release day moved). */
    async replace (intakeId: string, kind: EventKind, opts: Omit<EventOptions, 'key'> = {}): Promise<void> {
      const [field, value] = eventEntry(kind, opts)
      const key = keyOf(intakeId)
      await execAll(redis.pipeline().hset(key, field, value).expire(key, STATE_TTL_SECONDS))
    },
    async has (intakeId: string, kind: EventKind, key?: string): Promise<boolean> {
      return await redis.hexists(keyOf(intakeId), key === undefined ? kind : `${kind}:${key}`) === 1
    },
    /** Every event of a report, oldest first. */
    async list (intakeId: string): Promise<ReportEvent[]> {
      const raw = await redis.hgetall(keyOf(intakeId))
      return Object.entries(raw).flatMap(([field, value]) => parseEvent(field, value)).sort(byTime)
    }
  }
}

export type ReportEvents = ReturnType<typeof reportEvents>

function parseEvent (field: string, value: string): ReportEvent[] {
  const split = field.indexOf(':')
  const kind = (split === -1 ? field : field.slice(0, split)) as EventKind
  if (!(EVENT_KINDS as readonly string[]).includes(kind)) return []
  try {
    const { at, detail } = JSON.parse(value) as { at: string, detail?: string }
    return [{ kind, at, ...(detail === undefined ? {} : { detail }), ...(split === -1 ? {} : { key: field.slice(split + 1) }) }]
  } catch {
    return []
  }
}

/** By time, then in SECURITY.md's order (events recorded in the same millisecond). */
function byTime (a: ReportEvent, b: ReportEvent): number {
  return sortTime(a).localeCompare(sortTime(b)) || EVENT_KINDS.indexOf(a.kind) - EVENT_KINDS.indexOf(b.kind)
}

/**
 * GitHub's published_at has whole seconds: the publication happened somewhere in that
 * second, so it sorts at its end, never before a step of ours in the same second.
 */
function sortTime (e: ReportEvent): string {
  return e.kind === 'published' && e.at.endsWith('.000Z') ? `${e.at.slice(0, 20)}999Z` : e.at
}

function oneLine (text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, MAX_DETAIL)
}

const LABELS: Record<EventKind, string> = {
  received: 'report received',
  decrypted: 'report opened',
  quarantined: 'quarantined',
  'advisory-created': 'draft advisory created',
  'collaborators-added': 'collaborators added',
  acknowledged: 'reporter acknowledged',
  'team-notified': 'team notified',
  'follow-up': 'follow-up received',
  'fork-created': 'temporary private fork created',
  'cve-requested': 'CVE requested',
  'release-scheduled': 'release day set',
  'distributor-notice': 'distributor notified',
  published: 'advisory published',
  announced: 'release announced',
  'retrospective-sent': 'retrospective draft sent'
}

/** One line per event: `2026-11-28 16:00:00Z  advisory published  (detail)`. */
export function formatTimeline (events: readonly ReportEvent[]): string[] {
  return events.map((e) => {
    const when = e.at.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z')
    // An announcement that could not go out is on record too, and must not read as done.
    const label = e.kind === 'announced' && e.detail?.startsWith('not posted') === true ? 'release announcement NOT posted' : LABELS[e.kind]
    return `${when}  ${label}${e.detail === undefined ? '' : `  (${e.detail})`}`
  })
}
