// Per-report progress, so a retried or replayed job resumes where it stopped and never
// repeats a side effect it has recorded: one Redis hash per intake id, ids only.
import type { Redis } from 'ioredis'
import { gatewayKeys } from '../queue/jobs.js'

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

export const STATE_TTL_SECONDS = 180 * 24 * 3600

/** One report's progress: read once per job, then every step is recorded as it happens. */
export interface Progress {
  readonly state: Readonly<ReportProgress>
  record: (fields: ReportProgress) => Promise<void>
}

export function progressStore (redis: Redis, prefix: string) {
  const keys = gatewayKeys(prefix)
  const set = async (id: string, fields: ReportProgress): Promise<void> => {
    await redis.multi().hset(keys.state(id), fields as Record<string, string>).expire(keys.state(id), STATE_TTL_SECONDS).exec()
  }
  return {
    async get (id: string): Promise<ReportProgress> {
      return await redis.hgetall(keys.state(id)) as ReportProgress
    },
    set,
    async open (id: string): Promise<Progress> {
      const state: ReportProgress = await this.get(id)
      return {
        state,
        async record (fields) {
          await set(id, fields)
          Object.assign(state, fields)
        }
      }
    }
  }
}

export type ProgressStore = ReturnType<typeof progressStore>
