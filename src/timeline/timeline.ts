// SECURITY.md's timelines as delayed BullMQ jobs, one chain per filed advisory: at
// 24 hours (is there a Fix Team, i.e. collaborators?), 7 days (fix) and 21 days
// (release), then every REMINDER_REPEAT while the advisory stays unpublished (8 times at
// most). Each job asks GitHub for the advisory's current state first and ends the chain
// once it is published or closed; urgent (publicly disclosed) reports use the short
// intervals. Publication (seen by a poll or a repository_advisory webhook, whichever
// comes first; both run the same idempotent step) queues the release announcement
// (announce.ts), tells the reporter and schedules the retrospective draft
// (retrospective.ts). Job data hold ids only.
import type { Octokit } from '@octokit/rest'
import { Worker, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import { publishedNotice, reminderNotice } from '../mail/messages.js'
import { gatewayKeys, TIMELINE_QUEUE, type AdvisoryJobRef, type JobMap, type TimelineJobData, type TimelineJobName } from '../queue/jobs.js'
import { readAdvisory } from '../advisory/github-advisory.js'
import { formatReleaseDay } from '../advisory/release-day.js'
import { withReportLock } from '../store/lock.js'
import { outerHeaders } from '../mail/outer-headers.js'
import { replyToReporter } from '../mail/reply.js'
import { STATE_TTL_SECONDS, type Progress } from '../store/progress.js'
import { openStored, UnsealError } from '../seal/stored.js'
import { unpackPayload } from '../seal/payload.js'
import { runAnnounceJob } from './announce.js'
import { runRetrospective } from './retrospective.js'
import type { TimelineDeps } from './deps.js'

/** After the three SECURITY.md steps, this many overdue reminders at most. */
const MAX_REPEATS = 8
/**
 * How long the GHSA -> intake mapping is kept (webhooks for older advisories are ignored).
 * Never longer than the progress hash, which is written after it: a webhook that still
 * found the mapping but no progress would publish again (a second retrospective).
 */
const MAPPING_TTL_SECONDS = STATE_TTL_SECONDS

interface AdvisoryState {
  state: string
  cveId: string | null
  htmlUrl: string
  publishedAt: string | null
  collaborators: number
}

interface Mapping { intakeId: string, owner: string, repo: string }

const STEPS = [
  { label: 'form the Fix Team (within 24 hours)', urgentLabel: 'form the Fix Team (ASAP: publicly disclosed)' },
  { label: 'develop the fix (within 1-7 days)', urgentLabel: 'develop the fix (ASAP: publicly disclosed)' },
  { label: 'release the fix and publish the advisory (within 1-21 days)', urgentLabel: 'release and publish (ASAP: publicly disclosed)' }
]

function jobOpts (retry: TimelineDeps['retry'], jobId: string, delay: number) {
  return { jobId, delay, attempts: retry.jobAttempts, backoff: { type: 'exponential' as const, delay: retry.jobBackoffMs }, removeOnComplete: { age: 30 * 24 * 3600, count: 10_000 }, removeOnFail: { age: 90 * 24 * 3600, count: 10_000 } }
}

/** The first reminder of a newly filed advisory, and the mapping webhooks need. */
export async function startTimeline (deps: Pick<TimelineDeps, 'redis' | 'prefix' | 'queue' | 'timeline' | 'retry'>, ref: AdvisoryJobRef & { intakeId: string, urgent: boolean }): Promise<void> {
  const mapping: Mapping = { intakeId: ref.intakeId, owner: ref.owner, repo: ref.repo }
  await deps.redis.set(gatewayKeys(deps.prefix).advisory(ref.ghsaId), JSON.stringify(mapping), 'EX', MAPPING_TTL_SECONDS)
  const delays = ref.urgent ? deps.timeline.urgentDelaysMs : deps.timeline.delaysMs
  const data: JobMap['advisory-reminder'] = { intakeId: ref.intakeId, owner: ref.owner, repo: ref.repo, ghsaId: ref.ghsaId, step: 0, urgent: ref.urgent }
  await deps.queue.add('advisory-reminder', data, jobOpts(deps.retry, `remind-${ref.intakeId}-0`, delays[0] ?? 0))
}

/** `connection`: BullMQ's own (it loads its scripts onto it); `deps.redis` is for the gateway's state. */
export function startTimelineWorker (deps: TimelineDeps, opts: { concurrency?: number, connection?: Redis } = {}): Worker<TimelineJobData> {
  const worker = new Worker<TimelineJobData>(TIMELINE_QUEUE, async (job) => await runTimelineJob(job, deps), {
    connection: opts.connection ?? deps.redis,
    prefix: deps.prefix,
    concurrency: opts.concurrency ?? 2
  })
  worker.on('error', (err) => deps.log.error({ err: { message: err.message } }, 'timeline worker error'))
  worker.on('failed', (job, err) => deps.log.warn({ job: job?.name, ghsaId: job?.data.ghsaId, attempt: job?.attemptsMade, err: { name: err.name, message: err.message } }, 'timeline job failed'))
  return worker
}

async function runTimelineJob (job: Job<TimelineJobData>, deps: TimelineDeps): Promise<string> {
  switch (job.name as TimelineJobName) {
    case 'advisory-reminder': return await reminder(job as Job<JobMap['advisory-reminder']>, deps)
    case 'advisory-event': return await advisoryEvent((job as Job<JobMap['advisory-event']>).data, deps)
    case 'retrospective': return await runRetrospective(job as Job<JobMap['retrospective']>, deps)
    case 'announce': return await runAnnounceJob(job as Job<JobMap['announce']>, deps)
    default: return 'unknown job'
  }
}

/** GET the advisory; undefined when it is gone (404). */
async function advisoryState (octokit: Octokit, ref: AdvisoryJobRef): Promise<AdvisoryState | undefined> {
  const data = await readAdvisory(octokit, ref)
  if (data === undefined) return undefined
  return {
    state: data.state,
    cveId: data.cve_id ?? null,
    htmlUrl: data.html_url,
    publishedAt: data.published_at ?? null,
    collaborators: (data.collaborating_users?.length ?? 0) + (data.collaborating_teams?.length ?? 0)
  }
}

async function reminder (job: Job<JobMap['advisory-reminder']>, deps: TimelineDeps): Promise<string> {
  const data = job.data
  let state: AdvisoryState | undefined
  try {
    state = await advisoryState(deps.octokit, data)
  } catch (err) {
    if (!isLastAttempt(job)) throw err
    await onToNextStep(data, 'advisory state unavailable', err, deps)
    return 'github unavailable'
  }
  if (state === undefined) return 'advisory gone'
  if (state.state === 'published') {
    try {
      await published(data.intakeId, data, state, deps)
    } catch (err) {
      // Without a webhook, this chain is the only one to notice the publication: if the
      // notice cannot go now (mail server down, report busy), the next check tries again.
      if (!isLastAttempt(job)) throw err
      await onToNextStep(data, 'published notice failed', err, deps)
      return 'published; notice pending'
    }
    return 'published'
  }
  if (state.state === 'closed' || state.state === 'withdrawn') return state.state
  const due = new Date(job.timestamp + (job.opts.delay ?? 0)).toISOString().replace(/\.\d{3}Z$/, 'Z')
  // Step 0 asks for a Fix Team: collaborators on the advisory mean it exists.
  const needed = data.step > 0 || state.collaborators === 0
  if (needed) await remindTeam(data, state, due, deps)
  await scheduleNext(data, deps)
  return needed ? 'reminded' : 'on track'
}

function isLastAttempt (job: Job): boolean {
  return job.attemptsMade + 1 >= (job.opts.attempts ?? 1)
}

/**
 * A check that failed on its last attempt (retried with backoff before) hands over to the
 * next step rather than ending the chain: a long outage costs one check, not every later one.
 */
async function onToNextStep (data: JobMap['advisory-reminder'], what: string, err: unknown, deps: TimelineDeps): Promise<void> {
  deps.log.warn({ ghsaId: data.ghsaId, step: data.step, err: { message: (err as Error).message } }, `${what}; next check scheduled`)
  await scheduleNext(data, deps)
}

async function remindTeam (data: JobMap['advisory-reminder'], state: AdvisoryState, due: string, deps: TimelineDeps): Promise<void> {
  const progress = await deps.progress.open(data.intakeId)
  const step = STEPS[Math.min(data.step, STEPS.length - 1)] as (typeof STEPS)[number]
  const label = data.step >= STEPS.length ? `OVERDUE: ${step.label}` : data.urgent ? step.urgentLabel : step.label
  const repository = `${data.owner}/${data.repo}`
  const mailField = `timeline.remind.${data.step}` as const
  // The agreed release day (`advisory schedule`), when there is one.
  const releaseAt = progress.state.releaseAt === undefined ? undefined : new Date(progress.state.releaseAt)
  const releaseDay = releaseAt === undefined || Number.isNaN(releaseAt.getTime()) ? undefined : formatReleaseDay(releaseAt)
  if (deps.team.email !== undefined && progress.state[mailField] === undefined) {
    await deps.team.mail(reminderNotice({
      intakeId: data.intakeId,
      advisory: { ghsaId: data.ghsaId, htmlUrl: state.htmlUrl },
      repo: repository,
      to: deps.team.email,
      from: deps.mail.from,
      templates: deps.templates,
      step: String(data.step),
      stepLabel: label,
      due,
      state: state.state,
      ...(releaseDay === undefined ? {} : { releaseDay })
    }))
    await progress.record({ [mailField]: new Date().toISOString() })
  }
  const chatField = `chat.remind.${data.step}` as const
  if (deps.team.chat !== undefined && progress.state[chatField] === undefined) {
    const outcome = await deps.team.chat({
      title: `${data.urgent ? ':rotating_light: ' : ''}Reminder: ${label}`,
      lines: [`Advisory: ${data.ghsaId} (${state.state})`, `Repository: ${repository}`, `Due: ${due}`, ...(releaseDay === undefined ? [] : [`Release day: ${releaseDay}`])],
      url: state.htmlUrl
    })
    await progress.record({ [chatField]: `${outcome} ${new Date().toISOString()}` })
  }
}

async function scheduleNext (data: JobMap['advisory-reminder'], deps: TimelineDeps): Promise<void> {
  const next = data.step + 1
  if (next >= STEPS.length + MAX_REPEATS) return
  const delays = data.urgent ? deps.timeline.urgentDelaysMs : deps.timeline.delaysMs
  const delay = next < delays.length ? (delays[next] as number) - (delays[data.step] as number) : deps.timeline.repeatMs
  await deps.queue.add('advisory-reminder', { ...data, step: next }, jobOpts(deps.retry, `remind-${data.intakeId}-${next}`, Math.max(0, delay)))
}

/** A repository_advisory webhook: re-read the advisory (the API is the one source of truth) and act like a poll. */
async function advisoryEvent (data: JobMap['advisory-event'], deps: TimelineDeps): Promise<string> {
  const raw = await deps.redis.get(gatewayKeys(deps.prefix).advisory(data.ghsaId))
  if (raw === null) return 'not an advisory of ours'
  const mapping = JSON.parse(raw) as Mapping
  // The mapping, not the payload, says where the advisory lives.
  const ref = { owner: mapping.owner, repo: mapping.repo, ghsaId: data.ghsaId }
  const state = await advisoryState(deps.octokit, ref)
  if (state === undefined) return 'advisory gone'
  if (state.state !== 'published') return `state ${state.state}`
  await published(mapping.intakeId, ref, state, deps)
  return 'published'
}

/** Once per advisory, whoever notices first: the reporter's notice and the retrospective. */
async function published (intakeId: string, ref: AdvisoryJobRef, state: AdvisoryState, deps: TimelineDeps): Promise<void> {
  await withReportLock(deps.redis, deps.prefix, intakeId, async () => {
    const progress = await deps.progress.open(intakeId)
    const publishedAt = state.publishedAt ?? new Date().toISOString()
    if (progress.state['timeline.published'] === undefined) await progress.record({ 'timeline.published': publishedAt })
    await deps.events.record(intakeId, 'published', { at: publishedAt, detail: state.cveId ?? 'no CVE' })
    // Before the reporter's notice: a mail outage must not hold the announcement back.
    if (progress.state['timeline.announce'] === undefined) {
      const data: JobMap['announce'] = { owner: ref.owner, repo: ref.repo, ghsaId: ref.ghsaId, intakeId }
      await deps.queue.add('announce', data, jobOpts(deps.retry, `announce-${intakeId}`, 0))
      await progress.record({ 'timeline.announce': 'queued' })
    }
    await tellReporter(intakeId, ref.ghsaId, state, progress, deps)
    if (progress.state['timeline.retrospective'] === undefined) {
      const data: JobMap['retrospective'] = { ...ref, intakeId, publishedAt }
      await deps.queue.add('retrospective', data, jobOpts(deps.retry, `retro-${intakeId}`, deps.timeline.retrospectiveMs))
      await progress.record({ 'timeline.retrospective': 'scheduled' })
    }
    deps.log.info({ intakeId, ghsaId: ref.ghsaId }, 'advisory published')
  })
}

/**
 * The reporter's address is not kept anywhere in clear: it is read again from the
 * report's sealed original (kept SEALED_TTL_DAYS), whose outer headers also thread the
 * notice and go through the same RFC 3834 checks as the acknowledgement did.
 */
async function tellReporter (intakeId: string, ghsaId: string, state: AdvisoryState, progress: Progress, deps: TimelineDeps): Promise<void> {
  if (progress.state['reply.published'] !== undefined) return
  const original = await unsealOriginal(intakeId, deps)
  const outer = original === undefined ? undefined : await outerHeaders(original)
  if (outer === undefined) {
    await progress.record({ 'reply.published': 'suppressed: the original message is no longer kept' })
    return
  }
  await replyToReporter(intakeId, 'published', outer, progress, deps.reply, () => publishedNotice({
    report: outer,
    intakeId,
    from: deps.mail.from,
    publicUrl: deps.mail.publicUrl,
    templates: deps.templates,
    advisory: { ghsaId, htmlUrl: state.htmlUrl, cveId: state.cveId }
  }))
}

/** The original message (read in slices: it may be tens of MB); undefined when it is gone, empty when it does not open. */
async function unsealOriginal (intakeId: string, deps: TimelineDeps): Promise<Buffer | undefined> {
  let plaintext: Buffer | undefined
  try {
    plaintext = await openStored(deps.redis, gatewayKeys(deps.prefix).sealed(intakeId), deps.sealKey, intakeId)
  } catch (err) {
    if (!(err instanceof UnsealError)) throw err // Redis: the poll retries
    return Buffer.alloc(0)
  }
  if (plaintext === undefined) return undefined
  try {
    return unpackPayload(plaintext).raw // provider mail carries sealed metadata before the bytes
  } catch {
    return Buffer.alloc(0)
  }
}
