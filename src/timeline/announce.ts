// Posting the release announcement to Discord (DISCORD_WEBHOOK_URL, #mcp-servers): after
// publication only, at most once per advisory. Whoever runs it (the `announce` job that
// publication queues, or `intake advisory announce`) re-reads the advisory from GitHub
// and posts only when its state is `published`.
//
// At most once across retries, restarts and a concurrent CLI run: a pending marker is set
// (HSETNX) before the POST and the done record after it. A run that finds the marker
// without the done record does not post: the earlier POST may have reached Discord (it
// timed out after sending, or the process died). A definite refusal (an HTTP error
// answer, a connection never made) clears the marker, so a retry may post. An unknown
// outcome is left to the team, who are told to check the channel and run
// `advisory announce <GHSA> --force`.
import type { Octokit } from '@octokit/rest'
import type { Job } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Logger } from '../log.js'
import type { Templates } from '../mail/templates.js'
import { announcementCheckNotice } from '../mail/messages.js'
import type { DiscordPoster } from '../notify/chat.js'
import type { TeamChannels } from '../notify/team.js'
import { gatewayKeys, type AdvisoryJobRef, type JobMap } from '../queue/jobs.js'
import type { ReportEvents } from '../store/events.js'
import type { ProgressStore } from '../store/progress.js'
import { buildAnnouncement } from './announcement.js'
import { readAdvisory } from '../advisory/github-advisory.js'

/** Progress fields (store/progress.ts): set before the POST; set once Discord took it. */
const PENDING = 'timeline.announce.pending'
const DONE = 'timeline.announced'

export interface AnnounceDeps {
  redis: Redis
  prefix: string
  octokit: Octokit
  progress: ProgressStore
  events: ReportEvents
  templates: Templates
  /** Undefined without DISCORD_WEBHOOK_URL. */
  discord?: DiscordPoster | undefined
}

export type AnnounceResult =
  | { outcome: 'posted', text: string }
  | { outcome: 'advisory gone' }
  | { outcome: 'not published', state: string }
  | { outcome: 'already announced', at: string }
  | { outcome: 'no webhook', text: string }
  /** A marker without a done record: an earlier POST may have gone through. */
  | { outcome: 'unconfirmed', since: string }
  /** Discord certainly did not take it (its status, or none: no connection). */
  | { outcome: 'refused', status?: number }
  /** This POST's outcome is unknown (it may be in the channel): the marker stays. */
  | { outcome: 'unknown', status?: number }

/** The announcement as it would be posted now, whatever the state (for --dry-run). */
export async function previewAnnouncement (ref: AdvisoryJobRef, deps: Pick<AnnounceDeps, 'octokit' | 'templates'>): Promise<{ state: string, text: string } | undefined> {
  const advisory = await readAdvisory(deps.octokit, ref)
  if (advisory === undefined) return undefined
  return { state: advisory.state, text: buildAnnouncement(advisory, `${ref.owner}/${ref.repo}`, deps.templates) }
}

/** One attempt to announce; `force` posts despite a pending marker (the team checked the channel). */
export async function announce (intakeId: string, ref: AdvisoryJobRef, deps: AnnounceDeps, opts: { force?: boolean } = {}): Promise<AnnounceResult> {
  const advisory = await readAdvisory(deps.octokit, ref)
  if (advisory === undefined) return { outcome: 'advisory gone' }
  if (advisory.state !== 'published') return { outcome: 'not published', state: advisory.state }
  const stateKey = gatewayKeys(deps.prefix).state(intakeId)
  const done = await deps.redis.hget(stateKey, DONE)
  if (done !== null) return { outcome: 'already announced', at: done }
  const text = buildAnnouncement(advisory, `${ref.owner}/${ref.repo}`, deps.templates)
  if (deps.discord === undefined) {
    await deps.events.record(intakeId, 'announced', { detail: 'not posted: DISCORD_WEBHOOK_URL is not set' })
    return { outcome: 'no webhook', text }
  }
  const now = new Date().toISOString()
  if (await deps.redis.hsetnx(stateKey, PENDING, now) === 0) {
    // The marker stays after a post: another run (the job, the command) may have posted
    // since the done record was read above. That is "announced", not "may have been".
    const doneSince = await deps.redis.hget(stateKey, DONE)
    if (doneSince !== null) return { outcome: 'already announced', at: doneSince }
    if (opts.force !== true) return { outcome: 'unconfirmed', since: await deps.redis.hget(stateKey, PENDING) ?? '' }
    await deps.redis.hset(stateKey, PENDING, now)
  }
  const result = await deps.discord.post(text)
  if (result.posted) {
    // The record first (it replaces a "not posted" entry from a run without the URL): a
    // crash before the done record leaves the marker, and the team finds the post.
    await deps.events.replace(intakeId, 'announced', { at: now, detail: 'posted to Discord' })
    await deps.progress.set(intakeId, { [DONE]: now })
    return { outcome: 'posted', text }
  }
  if (result.delivered === 'no') {
    await deps.redis.hdel(stateKey, PENDING)
    return { outcome: 'refused', ...(result.status === undefined ? {} : { status: result.status }) }
  }
  return { outcome: 'unknown', ...(result.status === undefined ? {} : { status: result.status }) }
}

export interface AnnounceJobDeps extends AnnounceDeps {
  team: TeamChannels
  mail: { from: string }
  log: Logger
}

/** The `announce` timeline job: retried on a refusal, the team told when only they can decide. */
export async function runAnnounceJob (job: Job<JobMap['announce']>, deps: AnnounceJobDeps): Promise<string> {
  const { intakeId, ...ref } = job.data
  const result = await announce(intakeId, { owner: ref.owner, repo: ref.repo, ghsaId: ref.ghsaId }, deps)
  switch (result.outcome) {
    case 'posted':
      deps.log.info({ intakeId, ghsaId: ref.ghsaId }, 'release announcement posted')
      return 'posted'
    case 'refused': {
      const status = String(result.status ?? 'no connection')
      if (job.attemptsMade + 1 < (job.opts.attempts ?? 1)) throw new Error(`Discord did not take the announcement (${status}); retrying`)
      await tellTeam(intakeId, ref, `Discord did not take the release announcement (${status}) on any of ${job.opts.attempts ?? 1} attempts: it is not in the channel.`, deps)
      return `not posted: ${status}`
    }
    case 'unknown':
    case 'unconfirmed':
      await tellTeam(intakeId, ref, 'The release announcement may or may not have reached Discord (the webhook did not answer after the request was sent). It is not posted again automatically: look in the channel first.', deps)
      return 'unconfirmed'
    case 'not published': return `not published: ${result.state}`
    case 'already announced': return 'already announced'
    case 'no webhook': return 'not posted: no DISCORD_WEBHOOK_URL'
    case 'advisory gone': return 'advisory gone'
  }
}

/** Once per report: mail (and team chat) saying what to check and which command to run. */
async function tellTeam (intakeId: string, ref: AdvisoryJobRef, reason: string, deps: AnnounceJobDeps): Promise<void> {
  const progress = await deps.progress.open(intakeId)
  if (progress.state['timeline.announce.told'] !== undefined) return
  const command = `npm run intake -- advisory announce ${ref.ghsaId} --force`
  const htmlUrl = `https://github.com/${ref.owner}/${ref.repo}/security/advisories/${ref.ghsaId}`
  deps.log.warn({ intakeId, ghsaId: ref.ghsaId }, 'release announcement needs a check by the team')
  if (deps.team.email !== undefined) {
    await deps.team.mail(announcementCheckNotice({ intakeId, advisory: { ghsaId: ref.ghsaId, htmlUrl }, repo: `${ref.owner}/${ref.repo}`, to: deps.team.email, from: deps.mail.from, reason, command }))
  }
  await deps.team.chat?.({ title: `Check the release announcement: ${ref.ghsaId}`, lines: [reason, `Then: ${command}`], url: htmlUrl })
  await progress.record({ 'timeline.announce.told': new Date().toISOString() })
}
