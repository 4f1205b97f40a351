// The worker role: BullMQ consumer of the reports queue. It is the only role that
// holds the team's secret PGP key and the seal private key.
import { Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq'
import type { Octokit } from '@octokit/rest'
import { hasGithub, type Config } from '../config.js'
import type { Logger } from '../log.js'
import { QUEUE, TIMELINE_QUEUE, type JobMap } from '../queue/jobs.js'
import { createWorkerRedis } from '../redis.js'
import { sealPrivateKey } from '../seal/keys.js'
import { loadWorkerKeyring, teamKeyArmor } from '../pgp/team-key.js'
import { githubClient } from '../advisory/github-client.js'
import { reportEvents } from '../store/events.js'
import { AdvisoryPermanentError, AdvisoryTransientError, githubSink, outboxSink } from '../advisory/sink.js'
import { ReportError } from '../domain/errors.js'
import { JOB_LOCK_MS, JOB_STALLED_CHECK_MS, ReportBusyError, releaseReportLock } from '../store/lock.js'
import { configuredMailer } from '../mail/transport.js'
import { addressOf } from '../mail/messages.js'
import { progressStore } from '../store/progress.js'
import { quarantineStore } from '../quarantine/store.js'
import { processReport, quarantineFailed, type ProcessDeps, type ProcessOutcome } from '../report/process.js'
import { abuseCheck } from '../report/abuse.js'
import { ThreadPendingError } from '../report/follow-up.js'
import { threadIndex } from '../store/thread-index.js'
import { githubFacts, offlineFacts, type RepoFacts } from '../advisory/repo-facts.js'
import { loadRouting } from './load-routing.js'
import type { Routing } from '../triage/routing.js'
import { outgoingMail } from '../mail/outgoing.js'
import { replyWindow } from '../mail/reply-window.js'
import { loadTemplates } from '../mail/templates.js'
import { reporterKeyStore } from '../pgp/key-store.js'
import { chatNotifier, discordPoster } from '../notify/chat.js'
import { loadMemberKeys, teamChannels } from '../notify/team.js'
import { startTimeline, startTimelineWorker } from '../timeline/timeline.js'
import { createKeySource } from '../keys/published.js'
import { startPublisher } from '../keys/publisher.js'
import { createKeyReplier } from '../keys/key-request.js'
import { createOpenPool } from '../mail/open-pool.js'
import { admission } from '../report/admission.js'
import { byteGate, containerMemoryLimit, memoryBudget, type MemoryBudget } from '../ops/memory.js'
import { createMetrics, type Metrics } from '../ops/metrics.js'
import { observedProgress, observedQuarantine } from '../ops/instrument.js'
import { keyCheck, redisCheck, type ReadinessCheck } from '../ops/health.js'
import { abandonable, Abandoned } from '../ops/abandon.js'
import { quit } from '../lifecycle.js'

export interface RunningWorker {
  worker: Worker<JobMap['process-report']>
  metrics: Metrics
  /** What /readyz checks for this role. */
  readinessChecks: ReadinessCheck[]
  /** Running jobs get SHUTDOWN_TIMEOUT_MS to finish; the rest go back to the queue. */
  close: () => Promise<void>
}

export async function startWorker (opts: { config: Config, log: Logger, metrics?: Metrics }): Promise<RunningWorker> {
  const { config, log } = opts
  const metrics = opts.metrics ?? createMetrics()
  const keyring = await loadWorkerKeyring(config, log)
  const limitBytes = memoryBudget({ configuredMb: config.workerMemoryMb, baselineBytes: 0, containerLimit: containerMemoryLimit() }).limitBytes
  const threads = openThreads(config.decryptThreads, limitBytes)
  const budget = workerBudget(config, threads, log)
  const pool = threads > 0 ? createOpenPool({ threads, ...teamKeyArmor(config), heapMb: threadHeapMb(budget) }) : undefined
  const admit = admission(byteGate(budget.bytes))
  // Two connections: BullMQ's (it defines its ~60 scripts on it, and ioredis copies every
  // defined command into each MULTI made there) and a plain one for the gateway's own
  // state, whose MULTIs then cost what they say.
  const queueRedis = createWorkerRedis(config.redisUrl, 'intake-worker-queue')
  queueRedis.on('error', (err) => log.warn({ err: { message: err.message } }, 'redis (worker queue) error'))
  const redis = createWorkerRedis(config.redisUrl, 'intake-worker-state')
  redis.on('error', (err) => log.warn({ err: { message: err.message } }, 'redis (worker) error'))
  const routing = loadRouting(config)
  const keySource = createKeySource({ keysDir: config.keysDir, production: config.production })
  const mailer = configuredMailer(config, log)
  const templates = loadTemplates(config.templatesDir) // a broken template stops the start, not a reply
  const outgoing = outgoingMail(mailer, keyring)
  const keyStore = reporterKeyStore(redis, config.queuePrefix)
  const window = replyWindow(redis, config.queuePrefix, config.autoReply)
  const team = teamChannels({
    ...(config.teamNotifyEmail !== undefined ? { email: config.teamNotifyEmail } : {}),
    memberKeys: await loadMemberKeys(config.teamNotifyKeysFile),
    outgoing,
    ...(config.notifyWebhookUrl !== undefined ? { chat: chatNotifier(config.notifyWebhookUrl) } : {}),
    log
  })
  const octokit = githubClient(config, log, metrics)
  const timelineQueue = new Queue(TIMELINE_QUEUE, { connection: queueRedis, prefix: config.queuePrefix })
  timelineQueue.on('error', (err) => log.warn({ err: { message: err.message } }, 'timeline queue error'))
  const progress = progressStore(redis, config.queuePrefix)
  const sealKey = sealPrivateKey(config)
  const deps: ProcessDeps = {
    redis,
    prefix: config.queuePrefix,
    sealKey,
    keyring,
    sink: octokit === undefined ? outboxSink(config.outboxDir) : githubSink(octokit, log),
    triage: { routing, facts: repoFacts(config, routing, octokit, log), inlineAttachmentBytes: config.attachmentInlineBytes },
    threads: threadIndex(redis, config.queuePrefix),
    github: { owner: config.github.owner ?? 'local', repo: config.github.defaultRepo ?? 'security-reports' },
    mail: { from: config.mailFrom, publicUrl: config.publicUrl, ownAddresses: ownAddresses(config) },
    reply: { outgoing, keyStore, window },
    keyStore,
    team,
    templates,
    // Without GitHub there is no advisory state to poll: no reminders.
    ...(octokit !== undefined ? { timeline: { start: async (ref) => { await startTimeline({ redis, prefix: config.queuePrefix, queue: timelineQueue, timeline: config.timeline, retry: config }, ref) } } } : {}),
    progress: observedProgress(progress, metrics),
    events: reportEvents(redis, config.queuePrefix),
    quarantine: observedQuarantine(quarantineStore(redis, config.queuePrefix), metrics),
    sealedTtlSeconds: config.sealedTtlDays * 24 * 3600,
    log,
    keys: createKeyReplier({ keySource, keyring, redis, prefix: config.queuePrefix, securityEmail: config.securityEmail, publicUrl: config.publicUrl, from: config.mailFrom, templates }),
    abuse: abuseCheck(redis, config.queuePrefix, sealKey, { spamScoreThreshold: config.spamScoreThreshold, senderRate: config.senderRateLimit }),
    privateForkPolicy: config.privateForkPolicy,
    ...(pool === undefined ? {} : { openReport: pool.open })
  }

  // The worker holds the key, so it signs security.txt for the web role to serve.
  const publisher = await startPublisher({ redis, prefix: config.queuePrefix, keyring, keySource, log, settings: { securityEmail: config.securityEmail, publicUrl: config.publicUrl, ...config.securityTxt } })

  // Three parameters: BullMQ hands the processor an AbortSignal only when it asks for one.
  const abandoned = new Set<string>()
  const worker = new Worker<JobMap['process-report']>(QUEUE, async (job, token, signal) => await runJob(job, token, signal, { ...deps, memory: admit.ticket() }, metrics, abandoned), {
    connection: queueRedis,
    prefix: config.queuePrefix,
    concurrency: config.workerConcurrency,
    // A job whose run was killed (the worker died: OOM, a crash) runs again once; killed
    // a second time, BullMQ fails it ("job stalled more than allowable limit") and
    // onFailed quarantines it as worker-crash instead of killing the next worker too.
    lockDuration: JOB_LOCK_MS,
    stalledInterval: JOB_STALLED_CHECK_MS,
    maxStalledCount: JOB_MAX_STALLS
  })
  worker.on('error', (err) => log.error({ err: { message: err.message } }, 'worker error'))
  worker.on('failed', (job, err) => {
    if (job) onFailed(job, err, deps).catch((e: Error) => { deps.log.error({ intakeId: job.data.intakeId, err: { message: e.message } }, 'failure handling failed') })
  })
  const timelineWorker = octokit === undefined
    ? undefined
    : startTimelineWorker({
      redis,
      prefix: config.queuePrefix,
      queue: timelineQueue,
      octokit,
      progress,
      events: deps.events,
      sealKey,
      team,
      templates,
      reply: { outgoing, keyStore, window, mail: { from: config.mailFrom }, log },
      mail: { from: config.mailFrom, publicUrl: config.publicUrl },
      timeline: config.timeline,
      retry: config,
      log,
      ...(config.discordWebhookUrl !== undefined ? { discord: discordPoster(config.discordWebhookUrl) } : {})
    }, { connection: queueRedis })
  log.info({ fingerprint: keyring.fingerprint, sink: hasGithub(config) ? 'github' : 'outbox', mail: config.smtpUrl !== undefined ? 'smtp' : 'outbox' }, 'worker started')

  metrics.watchQueue(timelineQueue)

  return {
    worker,
    metrics,
    readinessChecks: [
      redisCheck('redis-worker', redis),
      redisCheck('redis-worker-queue', queueRedis),
      keyCheck('team-key', () => keyring.secretKeys.length > 0),
      keyCheck('worker-running', () => worker.isRunning() && !worker.closing)
    ],
    close: async () => {
      publisher.close()
      await closeWithin(worker, config.shutdownTimeoutMs, log)
      for (const id of abandoned) await releaseReportLock(config.queuePrefix, id)
      await timelineWorker?.close()
      await timelineQueue.close()
      mailer.close()
      await pool?.close()
      await quit(queueRedis)
      await quit(redis) // last: the jobs above needed it to record their progress
    }
  }
}

/** Idle cost of one open thread (V8 isolate, openpgp.js, mailparser, the keys), measured. */
const threadBaselineBytes = 40 * 1024 * 1024

/**
 * DECRYPT_THREADS, but at most one per 512 MiB of the memory limit (at least one): each
 * thread costs its idle baseline for good, and on the 512 MiB machine a second one left
 * too little for one 25 MB message to be opened beside it (cgroup peaks of 479-512 MiB).
 */
export function openThreads (configured: number, limitBytes: number): number {
  return configured === 0 ? 0 : Math.min(configured, Math.max(1, Math.floor(limitBytes / (512 * 1024 * 1024))))
}

/** The memory budget jobs are admitted within: the limit less what this process uses now and its threads will. */
function workerBudget (config: Config, threads: number, log: Logger): MemoryBudget {
  const baselineBytes = process.memoryUsage().rss + threads * threadBaselineBytes
  const budget = memoryBudget({ configuredMb: config.workerMemoryMb, baselineBytes, containerLimit: containerMemoryLimit() })
  const mib = (bytes: number): number => Math.round(bytes / 1024 / 1024)
  log.info({ budgetMiB: mib(budget.bytes), limitMiB: mib(budget.limitBytes), source: budget.source, baselineMiB: mib(baselineBytes), openThreads: threads, concurrency: config.workerConcurrency }, 'worker memory budget')
  return budget
}

/** An open thread's heap may take the whole budget (one message alone may), never more. */
function threadHeapMb (budget: MemoryBudget): number {
  return Math.max(64, Math.floor(budget.bytes / 1024 / 1024))
}

/**
 * worker.close() stops fetching and waits for running jobs. Past the deadline the
 * remaining runs are cancelled: each puts its job back in the queue (see runJob) and
 * stops at its next progress record, so no side effect is half-recorded.
 */
async function closeWithin (worker: Worker, ms: number, log: Logger): Promise<void> {
  const closing = worker.close()
  let timer: NodeJS.Timeout | undefined
  const late = await Promise.race([
    closing.then(() => false),
    new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), ms) })
  ])
  clearTimeout(timer)
  if (late) {
    log.warn({ deadlineMs: ms }, 'shutdown deadline: returning running jobs to the queue')
    worker.cancelAllJobs('shutdown')
  }
  await closing
}

/** One job run, timed and counted, with one log line for its outcome. */
async function runJob (job: Job<JobMap['process-report']>, token: string | undefined, signal: AbortSignal | undefined, deps: ProcessDeps, metrics: Metrics, abandoned: Set<string>): Promise<ProcessOutcome> {
  const start = performance.now()
  const done = (outcome: string, extra: object = {}) => {
    const seconds = (performance.now() - start) / 1000
    metrics.jobDuration.observe({ queue: QUEUE, outcome }, seconds)
    metrics.reportsProcessed.inc({ outcome })
    deps.log.info({ intakeId: job.data.intakeId, source: job.data.source, attempt: job.attemptsMade + 1, outcome, ms: Math.round(seconds * 1000), ...extra }, 'report outcome')
  }
  const run = processJob(job, signal === undefined ? deps : { ...deps, progress: abandonable(deps.progress, signal) }, signal)
  // Held until the run itself ends (an abandoned run goes on to its next progress record).
  run.then(() => deps.memory?.release(), () => deps.memory?.release())
  try {
    const result = await (signal === undefined ? run : raceAbort(run, signal))
    if (result.encrypted === true) metrics.messagesDecrypted.inc()
    // The one line a filed report logs (its steps are in its progress and event record).
    done(result.outcome, { ...(result.ghsaId !== undefined ? { ghsaId: result.ghsaId } : {}), ...(result.encrypted !== undefined ? { encrypted: result.encrypted } : {}), ...(result.signature !== undefined ? { signature: result.signature } : {}) })
    return result
  } catch (err) {
    if (err instanceof Abandoned) {
      run.catch(() => {}) // it stops by itself at its next progress record
      abandoned.add(job.data.intakeId)
      await job.moveToWait(token)
      done('returned')
      throw new WaitingError()
    }
    const e = err as Error
    const final = endsForGood(e, job.attemptsMade + 1, job)
    done(final ? 'failed' : 'retry', { error: e.message.slice(0, 200) })
    throw err
  }
}

function raceAbort<T> (run: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Abandoned())
    if (signal.aborted) onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    run.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

function ownAddresses (config: Config): string[] {
  return [...new Set([config.securityEmail, addressOf(config.mailFrom)].map((a) => a.toLowerCase()))]
}

function repoFacts (config: Config, routing: Routing, octokit: Octokit | undefined, log: Logger): RepoFacts {
  if (octokit === undefined) return offlineFacts(routing, config.github.defaultRepo ?? 'security-reports')
  return githubFacts(octokit, config.github.owner ?? '', log)
}

/**
 * Runs one job. On its last attempt, a failure is quarantined *before* the job is
 * failed: done from the `failed` event alone, a crash in between would leave the report
 * neither filed nor quarantined.
 */
async function processJob (job: Job<JobMap['process-report']>, deps: ProcessDeps, signal?: AbortSignal) {
  try {
    return await processReport(job, deps)
  } catch (err) {
    if (err instanceof Abandoned || signal?.aborted === true) throw err // not a failure: the job is back in the queue
    const safe = safeError(err)
    const run = { data: job.data, attemptsMade: job.attemptsMade + 1, processedOn: job.processedOn }
    if (endsForGood(safe, run.attemptsMade, job)) await quarantineFailed(run, safe.message, deps).catch((q: Error) => deps.log.error({ intakeId: job.data.intakeId, err: { message: q.message } }, 'could not record quarantine entry'))
    throw safe
  }
}

/** Logs every failure; quarantines what ended without passing through processJob (stalled jobs). */
async function onFailed (job: Job<JobMap['process-report']>, err: Error, deps: ProcessDeps): Promise<void> {
  const final = endsForGood(err, job.attemptsMade, job)
  deps.log.warn({ intakeId: job.data.intakeId, attempt: job.attemptsMade, final, err: { name: err.name, message: err.message } }, 'report job failed')
  if (!final) return
  try {
    if (killedTwice(err)) await quarantineFailed(job, `its processing was killed ${JOB_MAX_STALLS + 1} times (the worker died mid-run, e.g. out of memory); not run again`, deps, 'worker-crash')
    else await quarantineFailed(job, err.message, deps) // idempotent: skips what processJob already recorded
  } catch (e) {
    deps.log.error({ intakeId: job.data.intakeId, err: { message: (e as Error).message } }, 'could not record quarantine entry')
  }
}

const JOB_MAX_STALLS = 1

/** BullMQ's failure of a job stalled more than maxStalledCount times (it never reaches the processor). */
function killedTwice (err: Error): boolean {
  return err.name === 'UnrecoverableError' && err.message === 'job stalled more than allowable limit'
}

/** Does this failure end the job for good, so the report belongs in the quarantine? */
function endsForGood (err: Error, attemptsMade: number, job: Job): boolean {
  if (err.name === 'ReportBusyError') return false // another run is under way and will file or quarantine it
  return err.name === 'UnrecoverableError' || attemptsMade >= (job.opts.attempts ?? 1)
}

/**
 * BullMQ stores a failed job's message and stack in Redis, and they reach logs and the
 * team's quarantine notice. Our own errors are written without report content. Any
 * other error keeps only its class and codes: library messages can quote input (an
 * SMTP server's reply quotes the sender-chosen recipient, filters quote subjects).
 */
function safeError (err: unknown): Error {
  const e = err instanceof Error ? err : new Error('non-error thrown')
  const ours = e instanceof UnrecoverableError || e instanceof ReportError || e instanceof AdvisoryTransientError || e instanceof AdvisoryPermanentError || e instanceof ReportBusyError || e instanceof ThreadPendingError
  const message = ours ? e.message.slice(0, 500) : describeForeign(e)
  const safe = e instanceof UnrecoverableError ? new UnrecoverableError(message) : new Error(message)
  if (ours && !(safe instanceof UnrecoverableError)) safe.name = e.name
  safe.stack = `${safe.name}: ${message}`
  return safe
}

function describeForeign (e: Error): string {
  const { code, responseCode } = e as { code?: unknown, responseCode?: unknown }
  const codes = [code, responseCode].filter((c) => typeof c === 'string' || typeof c === 'number').join(' ')
  return `${e.name}${codes === '' ? '' : ` ${codes}`} (message withheld: it may quote report content)`
}
