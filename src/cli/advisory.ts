// `intake advisory <step> <GHSA>`: the steps of SECURITY.md after intake, one command
// each, on an advisory the gateway filed. Every step is recorded in the report's event
// record (report/events.ts), which `advisory timeline` prints. One row per sub-command.
import type { Octokit } from '@octokit/rest'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import type { Config } from '../config.js'
import { githubClient } from '../advisory/github-client.js'
import { createLogger } from '../log.js'
import { gatewayKeys } from '../queue/jobs.js'
import { formatTimeline, reportEvents, type ReportEvents } from '../report/events.js'
import { progressStore, type ProgressStore, type ReportProgress } from '../report/state.js'
import { threadIndex } from '../report/thread-index.js'
import { announceCommand } from './advisory-announce.js'

type Out = (s: string) => void

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

interface SubCommand {
  usage: string
  run: (ctx: AdvisoryContext, advisory: ResolvedAdvisory, flags: string[]) => Promise<number>
}

const subCommands: Record<string, SubCommand> = {
  timeline: {
    usage: 'advisory timeline <GHSA> [--json]   every recorded step of the report, with its time',
    run: timelineCommand
  },
  announce: {
    usage: 'advisory announce <GHSA> [--dry-run] [--force]\n' +
      '                                      post the release announcement to Discord (published\n' +
      '                                      advisories, once); --dry-run prints it; --force after\n' +
      '                                      an unconfirmed post',
    run: announceCommand
  }
}

export function advisoryUsage (): string {
  return Object.values(subCommands).map((c) => c.usage).join('\n  ')
}

const GHSA = /^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$/

export async function advisoryCommand (config: Config, args: string[], out: Out): Promise<number> {
  const [name, ghsaArg, ...flags] = args
  const sub = name === undefined ? undefined : subCommands[name]
  if (sub === undefined || ghsaArg === undefined) {
    out(`usage:\n  ${advisoryUsage()}\n`)
    return 2
  }
  // GitHub shows ids in upper case with lower-case letters in the groups; accept either.
  const ghsaId = `GHSA${ghsaArg.slice(4).toLowerCase()}`
  if (!/^ghsa/i.test(ghsaArg) || !GHSA.test(ghsaId)) {
    out(`not a GHSA id: ${ghsaArg.slice(0, 40)}\n`)
    return 2
  }
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1 })
  try {
    const ctx: AdvisoryContext = {
      config,
      redis,
      events: reportEvents(redis, config.queuePrefix),
      progress: progressStore(redis, config.queuePrefix),
      // Warnings (rate limits, retries) to stderr: stdout is the command's answer.
      octokit: githubClient(config, createLogger({ level: 'warn', production: config.production, destination: pino.destination(2) })),
      out
    }
    const advisory = await resolveAdvisory(ctx, ghsaId)
    if (advisory === undefined) {
      out(`${ghsaId} is not an advisory this gateway filed (or its record has expired)\n`)
      return 1
    }
    return await sub.run(ctx, advisory, flags)
  } finally {
    redis.disconnect()
  }
}

/** GHSA id -> the report it was filed from, and where the advisory lives. */
export async function resolveAdvisory (ctx: Pick<AdvisoryContext, 'config' | 'redis' | 'progress'>, ghsaId: string): Promise<ResolvedAdvisory | undefined> {
  const prefix = ctx.config.queuePrefix
  const intakeId = await threadIndex(ctx.redis, prefix).byGhsa(ghsaId) ?? mappedIntake(await ctx.redis.get(gatewayKeys(prefix).advisory(ghsaId)))
  if (intakeId === undefined) return undefined
  const state = await ctx.progress.get(intakeId)
  // A follow-up's progress also names the GHSA: only the report that filed it owns it.
  if (state.ghsaId !== ghsaId || state.followUpOf !== undefined) return undefined
  const [owner, repo] = (state.advisoryRepo ?? '').split('/')
  if (owner === undefined || repo === undefined || owner === '' || repo === '') return undefined
  return { ghsaId, intakeId, owner, repo, state }
}

function mappedIntake (raw: string | null): string | undefined {
  if (raw === null) return undefined
  try {
    const { intakeId } = JSON.parse(raw) as { intakeId?: unknown }
    return typeof intakeId === 'string' ? intakeId : undefined
  } catch {
    return undefined
  }
}

async function timelineCommand (ctx: AdvisoryContext, advisory: ResolvedAdvisory, flags: string[]): Promise<number> {
  const events = await ctx.events.list(advisory.intakeId)
  if (flags.includes('--json')) {
    ctx.out(JSON.stringify({ ghsaId: advisory.ghsaId, intakeId: advisory.intakeId, repository: `${advisory.owner}/${advisory.repo}`, events }, null, 2) + '\n')
    return 0
  }
  ctx.out(`${advisory.ghsaId}  ${advisory.owner}/${advisory.repo}  (report ${advisory.intakeId})\n`)
  for (const line of formatTimeline(events)) ctx.out(`  ${line}\n`)
  if (events.length === 0) ctx.out('  (no events on record)\n')
  return 0
}
