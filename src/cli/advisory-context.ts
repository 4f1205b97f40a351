// What every `intake advisory` sub-command is handed, in a file of its own so the
// sub-commands kept in other files import it without importing the dispatcher.
import type { Octokit } from '@octokit/rest'
import type { Redis } from 'ioredis'
import type { Config } from '../config.js'
import type { ReportEvents } from '../store/events.js'
import type { ProgressStore, ReportProgress } from '../store/progress.js'

export type Out = (s: string) => void

/** What every sub-command gets: the advisory resolved to its report, and the clients. */
export interface AdvisoryContext {
  config: Config
  redis: Redis
  events: ReportEvents
  progress: ProgressStore
  /** Undefined when no GitHub credentials are configured (the outbox sink). */
  octokit: Octokit | undefined
  out: Out
}

export interface ResolvedAdvisory {
  ghsaId: string
  intakeId: string
  owner: string
  repo: string
  state: ReportProgress
}
