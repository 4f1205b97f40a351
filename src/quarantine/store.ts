// Reports that could not be processed are never dropped: the sealed original stays in
// Redis (no expiry) and an entry records why. Entries hold our own words only, never
// report content. The CLI lists, shows and replays them.
import type { Redis } from 'ioredis'
import { gatewayKeys } from '../queue/jobs.js'
import { execAll } from '../store/exec.js'

export interface QuarantineEntry {
  intakeId: string
  /** Machine-readable reason: a ReportError code, 'failed' (retries used up), 'worker-crash' (killed the worker twice), ... */
  code: string
  /** Human-readable reason, safe to show (no report content). */
  reason: string
  at: string
  source: string
  attempts: number
  replays: number
}

export function quarantineStore (redis: Redis, prefix: string) {
  const keys = gatewayKeys(prefix)
  return {
    async add (entry: Omit<QuarantineEntry, 'at' | 'replays'> & { at?: string }): Promise<QuarantineEntry> {
      const previous = await this.get(entry.intakeId)
      const full: QuarantineEntry = { at: new Date().toISOString(), replays: previous?.replays ?? 0, ...entry }
      // Together, or the step fails: an entry whose original can still expire would lose the report.
      await execAll(redis.multi()
        .hset(keys.quarantine, entry.intakeId, JSON.stringify(full))
        .persist(keys.sealed(entry.intakeId))) // keep the original until someone resolves it
      return full
    },
    async get (intakeId: string): Promise<QuarantineEntry | undefined> {
      const json = await redis.hget(keys.quarantine, intakeId)
      return json === null ? undefined : JSON.parse(json) as QuarantineEntry
    },
    async list (): Promise<QuarantineEntry[]> {
      const all = await redis.hvals(keys.quarantine)
      return all.map((j) => JSON.parse(j) as QuarantineEntry).sort((a, b) => a.at.localeCompare(b.at))
    },
    async remove (intakeId: string): Promise<void> {
      await redis.hdel(keys.quarantine, intakeId)
    },
    async countReplay (intakeId: string): Promise<number> {
      const entry = await this.get(intakeId)
      if (entry === undefined) throw new Error(`no quarantined report ${intakeId}`)
      entry.replays += 1
      await redis.hset(keys.quarantine, intakeId, JSON.stringify(entry))
      return entry.replays
    }
  }
}

export type QuarantineStore = ReturnType<typeof quarantineStore>
