// Per-report progress, so a retried or replayed job resumes where it stopped and never
// repeats a side effect it has recorded: one Redis hash per intake id, ids only.
//
// A run writes it as a journal: `record` is the boundary a side effect needs (written
// now, one round trip), while `note` and `event` (what can be worked out again, and the
// report's timeline) ride along with the next record or the run's final `flush`. A run
// killed in between loses only those, and its retry writes them again.
import type { Redis } from 'ioredis'
import { gatewayKeys } from '../queue/jobs.js'
import { eventEntry, type EventKind, type EventOptions } from './events.js'
import { execAll, withCommands, type RedisCommand } from './exec.js'
import { STATE_TTL_SECONDS } from './retention.js'

export interface ReportProgress {
  /** Set just before the advisory POST: a retry must look for an advisory it may have made. */
  advisoryPending?: string
  ghsaId?: string
  advisoryUrl?: string
  /** Message-ID of the acknowledgement, or "suppressed: <reason>". */
  'reply.ack'?: string
  /** Message-ID of the could-not-decrypt reply, or "suppressed: <reason>". */
  'reply.unreadable'?: string
  /** Message-ID of the key reply (key by e-mail), or "suppressed: <reason>". */
  'reply.key'?: string
  'team.received'?: string
  'team.quarantined'?: string
  outcome?: string
  /** `owner/repo` the advisory is (being) filed in: fixed before the POST so a retry looks in the same place. */
  advisoryRepo?: string
  /** Collaborators PATCHed after creation ("done" or "none"). */
  collaborators?: string
  /** This report continues another: the root intake id (its advisory gets the section). */
  followUpOf?: string
  /** Follow-ups: "appended", or why not ("no room": the description is at GitHub's limit). */
  followUp?: string
  /** HMAC of the sender address (never the address), to mark follow-ups from someone else. */
  senderHash?: string
  /** The advisory's severity as filed (from the report's CVSS or severity), for team notices. */
  severity?: string
  /** The report is urgent (publicly disclosed): short reminder intervals. */
  urgent?: string
  /** The agreed release day and time, ISO 8601 UTC (`advisory schedule`). */
  releaseAt?: string
  /** Reply outcomes ('reply.published'), window slots ('reply.ack.window'), chat notices ('chat.received'), timeline steps ('timeline.remind.0'). */
  [field: `reply.${string}` | `chat.${string}` | `timeline.${string}`]: string | undefined
}

export type ReplyKind = 'ack' | 'unreadable' | 'key' | 'published'
export type TeamNoticeKind = 'received' | 'quarantined'

export { STATE_TTL_SECONDS }

/** One report's progress: read once per job, then every step is recorded as it happens. */
export interface Progress {
  readonly state: Readonly<ReportProgress>
  /** Written now, with whatever was noted since the last write: the boundary before a side effect. */
  record: (fields: ReportProgress, also?: readonly RedisCommand[]) => Promise<void>
  /** Kept in `state` at once, written with the next record or flush (and `also`: commands to carry with it). */
  note: (fields: ReportProgress, also?: readonly RedisCommand[]) => void
  /** An event of the report's timeline (HSETNX: the first time stays), written with the next record or flush. */
  event: (kind: EventKind, opts?: EventOptions) => void
  /** Writes what is noted, if anything (and `also`). */
  flush: (also?: readonly RedisCommand[]) => Promise<void>
}

export function progressStore (redis: Redis, prefix: string) {
  const keys = gatewayKeys(prefix)
  const set = async (id: string, fields: ReportProgress): Promise<void> => {
    await execAll(redis.pipeline().hset(keys.state(id), fields as Record<string, string>).expire(keys.state(id), STATE_TTL_SECONDS))
  }
  return {
    async get (id: string): Promise<ReportProgress> {
      return await redis.hgetall(keys.state(id)) as ReportProgress
    },
    set,
    async open (id: string): Promise<Progress> {
      return journal(redis, keys.state(id), keys.events(id), await this.get(id))
    }
  }
}

export type ProgressStore = ReturnType<typeof progressStore>

function journal (redis: Redis, stateKey: string, eventsKey: string, state: ReportProgress): Progress {
  let fields: Record<string, string> = {}
  let events: Array<[string, string]> = []
  let commands: RedisCommand[] = []
  // Each key's expiry is set by this run's first write to it, not by every write.
  let stateTtl = false
  let eventsTtl = false
  const flush = async (also: readonly RedisCommand[] = []): Promise<void> => {
    commands.push(...also)
    if (Object.keys(fields).length === 0 && events.length === 0 && commands.length === 0) return
    const writing = { fields, events, commands }
    fields = {}
    events = []
    commands = []
    const pipeline = redis.pipeline()
    if (Object.keys(writing.fields).length > 0) {
      pipeline.hset(stateKey, writing.fields)
      if (!stateTtl) pipeline.expire(stateKey, STATE_TTL_SECONDS)
    }
    for (const [field, value] of writing.events) pipeline.hsetnx(eventsKey, field, value)
    if (writing.events.length > 0 && !eventsTtl) pipeline.expire(eventsKey, STATE_TTL_SECONDS)
    try {
      await execAll(withCommands(pipeline, writing.commands))
    } catch (err) {
      // Not written (a pipeline is not atomic: perhaps in part): all of it is kept for
      // the next write of this run, the commands too (each is idempotent).
      fields = { ...writing.fields, ...fields }
      events = [...writing.events, ...events]
      commands = [...writing.commands, ...commands]
      throw err
    }
    stateTtl ||= Object.keys(writing.fields).length > 0
    eventsTtl ||= writing.events.length > 0
  }
  const note = (more: ReportProgress, also: readonly RedisCommand[] = []): void => {
    commands.push(...also)
    for (const [field, value] of Object.entries(more)) {
      if (typeof value === 'string') fields[field] = value
    }
    Object.assign(state, more)
  }
  return {
    state,
    note,
    event (kind, opts) {
      events.push(eventEntry(kind, opts))
    },
    async record (more, also) {
      note(more)
      await flush(also)
    },
    flush
  }
}
