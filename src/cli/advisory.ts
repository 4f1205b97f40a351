// `intake advisory <step> <GHSA>`: the steps of SECURITY.md after intake, one command
// each, on an advisory the gateway filed. Every step is recorded in the report's event
// record (store/events.ts), which `advisory timeline` prints. One row per sub-command.
import type { Octokit } from '@octokit/rest'
import { pino } from 'pino'
import type { Config } from '../config.js'
import { cliRedis } from './redis.js'
import { requestCve } from '../advisory/cve-request.js'
import { githubClient, NO_GITHUB_CREDENTIALS } from '../advisory/github-client.js'
import { notifyDistributors } from '../advisory/distributor-notice.js'
import { requestFork } from '../advisory/private-fork.js'
import { formatReleaseDay, parseReleaseDate, proposeReleaseDay, recordReleaseDay, releaseAtValue } from '../advisory/release-day.js'
import { createLogger } from '../log.js'
import { gatewayKeys } from '../queue/jobs.js'
import { formatTimeline, reportEvents } from '../store/events.js'
import { progressStore } from '../store/progress.js'
import { threadIndex } from '../store/thread-index.js'
import { announceCommand } from './advisory-announce.js'
import type { AdvisoryContext, Out, ResolvedAdvisory } from './advisory-context.js'

interface SubCommand {
  usage: string
  /**
   * The flags it takes (none when empty). Anything else is refused before anything runs:
   * `request-cve <GHSA> --dry-run` must not request a CVE. Absent: the command parses its
   * own (flags with values).
   */
  flags?: readonly string[]
  run: (ctx: AdvisoryContext, advisory: ResolvedAdvisory, flags: string[]) => Promise<number>
}

const subCommands: Record<string, SubCommand> = {
  fork: {
    usage: 'advisory fork <GHSA>                the temporary private fork (unless\n                                      PRIVATE_FORK_POLICY asked for it with the advisory)',
    flags: [],
    run: forkCommand
  },
  'request-cve': {
    usage: 'advisory request-cve <GHSA>         ask GitHub for a CVE id (public repositories only)',
    flags: [],
    run: requestCveCommand
  },
  schedule: {
    usage: 'advisory schedule <GHSA> [--date YYYY-MM-DD [--force]]\n                                      the release day at 16:00 UTC (default: the first\n                                      Mon-Thu at least 24 hours ahead)',
    run: scheduleCommand
  },
  'notify-distributors': {
    usage: 'advisory notify-distributors <GHSA> [--dry-run] [--resend]\n' +
      '                                      encrypted, signed advance notice to each distributor\n' +
      '                                      in DISTRIBUTORS_FILE not yet notified (worker\'s keys)',
    flags: ['--dry-run', '--resend'],
    run: async (ctx, advisory, flags) => await notifyDistributors(ctx, advisory, { dryRun: flags.includes('--dry-run'), resend: flags.includes('--resend') })
  },
  announce: {
    usage: 'advisory announce <GHSA> [--dry-run] [--force]\n' +
      '                                      post the release announcement to Discord (published\n' +
      '                                      advisories, once); --dry-run prints it; --force after\n' +
      '                                      an unconfirmed post',
    flags: ['--dry-run', '--force'],
    run: announceCommand
  },
  timeline: {
    usage: 'advisory timeline <GHSA> [--json]   every recorded step of the report, with its time',
    flags: ['--json'],
    run: timelineCommand
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
  const unknown = sub.flags === undefined ? undefined : flags.find((f) => !(sub.flags as readonly string[]).includes(f))
  if (unknown !== undefined) {
    out(`unknown flag ${unknown.slice(0, 40)}: ${name} takes ${sub.flags?.length === 0 ? 'no flags' : sub.flags?.join(' and ')}\nusage: ${sub.usage}\n`)
    return 2
  }
  const redis = await cliRedis(config)
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
async function resolveAdvisory (ctx: Pick<AdvisoryContext, 'config' | 'redis' | 'progress'>, ghsaId: string): Promise<ResolvedAdvisory | undefined> {
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

/** The GitHub steps need credentials; without them the gateway files to the outbox. */
function githubOf (ctx: AdvisoryContext): Octokit | undefined {
  if (ctx.octokit === undefined) ctx.out(`${NO_GITHUB_CREDENTIALS}: this step talks to GitHub\n`)
  return ctx.octokit
}

async function forkCommand (ctx: AdvisoryContext, advisory: ResolvedAdvisory): Promise<number> {
  const octokit = githubOf(ctx)
  if (octokit === undefined) return 1
  const result = await requestFork(octokit, advisory)
  if (!result.ok) {
    ctx.out(`${result.message}\n`)
    return 1
  }
  const { fork } = result
  const recorded = await ctx.events.record(advisory.intakeId, 'fork-created', { detail: fork.created ? fork.fullName : `${fork.fullName} (found on the advisory)` })
  ctx.out(fork.created
    ? `temporary private fork requested: ${fork.fullName}\n  ${fork.htmlUrl}\n  (GitHub creates it asynchronously: it can take up to 5 minutes before it can be cloned)\n`
    : `${advisory.ghsaId} already has its temporary private fork: ${fork.fullName}\n  ${fork.htmlUrl}\n`)
  if (!recorded) ctx.out('  (already on the report\'s timeline)\n')
  return 0
}

async function requestCveCommand (ctx: AdvisoryContext, advisory: ResolvedAdvisory): Promise<number> {
  const octokit = githubOf(ctx)
  if (octokit === undefined) return 1
  const earlier = (await ctx.events.list(advisory.intakeId)).find((e) => e.kind === 'cve-requested')
  if (earlier !== undefined) {
    ctx.out(`a CVE was already requested for ${advisory.ghsaId} at ${earlier.at}: GitHub adds the id to the advisory once it is assigned\n`)
    return 0
  }
  const result = await requestCve(octokit, advisory)
  if (!result.ok) {
    ctx.out(`${result.message}\n`)
    return 1
  }
  if (result.outcome === 'has-cve') {
    ctx.out(`${advisory.ghsaId} already has ${result.cveId}: nothing requested\n`)
    return 0
  }
  await ctx.events.record(advisory.intakeId, 'cve-requested', { detail: 'requested from GitHub' })
  ctx.out(`CVE requested for ${advisory.ghsaId}: GitHub reviews the request and adds the id to the advisory\n`)
  return 0
}

async function scheduleCommand (ctx: AdvisoryContext, advisory: ResolvedAdvisory, flags: string[]): Promise<number> {
  const parsed = scheduleFlags(flags)
  if ('error' in parsed) {
    ctx.out(`${parsed.error}\nusage: ${subCommands.schedule?.usage ?? ''}\n`)
    return 2
  }
  const now = new Date()
  let at = proposeReleaseDay(now)
  if (parsed.date !== undefined) {
    const chosen = parseReleaseDate(parsed.date, now, { force: parsed.force })
    if (!chosen.ok) {
      ctx.out(`${chosen.error}\n`)
      return 1
    }
    for (const warning of chosen.warnings) ctx.out(`warning: ${warning}\n`)
    at = chosen.at
  }
  const previous = await recordReleaseDay(ctx, advisory.intakeId, at)
  const moved = previous !== undefined && previous !== releaseAtValue(at)
  ctx.out(`release day for ${advisory.ghsaId}: ${formatReleaseDay(at)}${moved ? ` (moved from ${formatReleaseDay(new Date(previous))})` : ''}\n`)
  return 0
}

function scheduleFlags (flags: string[]): { date?: string, force: boolean } | { error: string } {
  let date: string | undefined
  let force = false
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i] as string
    if (flag === '--force') force = true
    else if (flag === '--date' && flags[i + 1] !== undefined) date = flags[++i]
    else if (flag.startsWith('--date=')) date = flag.slice('--date='.length)
    else return { error: `unknown argument: ${flag.slice(0, 40)}` }
  }
  if (force && date === undefined) return { error: '--force goes with --date' }
  return { ...(date === undefined ? {} : { date }), force }
}
