// What the timeline's jobs are handed (timeline.ts builds it; every job module reads it).
import type { Octokit } from '@octokit/rest'
import type { Queue } from 'bullmq'
import type { KeyObject } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Config } from '../config.js'
import type { Logger } from '../log.js'
import type { ReplyDeps } from '../mail/reply.js'
import type { Templates } from '../mail/templates.js'
import type { DiscordPoster } from '../notify/chat.js'
import type { TeamChannels } from '../notify/team.js'
import type { ReportEvents } from '../store/events.js'
import type { ProgressStore } from '../store/progress.js'

export interface TimelineDeps {
  redis: Redis
  prefix: string
  queue: Queue
  octokit: Octokit
  progress: ProgressStore
  events: ReportEvents
  sealKey: KeyObject
  team: TeamChannels
  reply: ReplyDeps
  templates: Templates
  mail: { from: string, publicUrl: string }
  timeline: Config['timeline']
  /** JOB_ATTEMPTS / JOB_BACKOFF_MS: how often one check is retried when GitHub fails. */
  retry: { jobAttempts: number, jobBackoffMs: number }
  log: Logger
  /** DISCORD_WEBHOOK_URL: the release announcement (announce.ts). */
  discord?: DiscordPoster | undefined
}
