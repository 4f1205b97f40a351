// The worker role: BullMQ consumer of the reports queue. It is the only role that
// holds the team's secret PGP key and the seal private key.
import { UnrecoverableError, Worker, type Job } from 'bullmq'
import { hasGithub, type Config } from './config.js'
import type { Logger } from './log.js'
import { QUEUE, type JobMap } from './queue/jobs.js'
import { createWorkerRedis } from './redis.js'
import { sealPrivateKey } from './seal/keys.js'
import { loadWorkerKeyring } from './pgp/team-key.js'
import { createOctokit } from './advisory/github-client.js'
import { AdvisoryPermanentError, AdvisoryTransientError, githubSink, outboxSink, type AdvisorySink } from './advisory/sink.js'
import { ReportError } from './report/errors.js'
import { ReportBusyError } from './report/lock.js'
import { createMailer } from './mail/transport.js'
import { addressOf } from './mail/messages.js'
import { progressStore } from './report/state.js'
import { quarantineStore } from './quarantine/store.js'
import { processReport, quarantineFailed, type ProcessDeps } from './report/process.js'

export interface RunningWorker {
  worker: Worker<JobMap['process-report']>
  close: () => Promise<void>
}

export async function startWorker (opts: { config: Config, log: Logger }): Promise<RunningWorker> {
  const { config, log } = opts
  const keyring = await loadWorkerKeyring(config, log)
  const redis = createWorkerRedis(config.redisUrl)
  redis.on('error', (err) => log.warn({ err: { message: err.message } }, 'redis (worker) error'))
  const mailer = createMailer({ ...(config.smtpUrl !== undefined ? { smtpUrl: config.smtpUrl } : {}), outboxDir: config.outboxDir, log })
  const deps: ProcessDeps = {
    redis,
    prefix: config.queuePrefix,
    sealKey: sealPrivateKey(config),
    keyring,
    sink: advisorySink(config, log),
    github: { owner: config.github.owner ?? 'local', repo: config.github.defaultRepo ?? 'security-reports' },
    mailer,
    mail: { from: config.mailFrom, publicUrl: config.publicUrl, ownAddresses: ownAddresses(config), ...(config.teamNotifyEmail !== undefined ? { teamNotifyEmail: config.teamNotifyEmail } : {}) },
    progress: progressStore(redis, config.queuePrefix),
    quarantine: quarantineStore(redis, config.queuePrefix),
    sealedTtlSeconds: config.sealedTtlDays * 24 * 3600,
    log
  }

  const worker = new Worker<JobMap['process-report']>(QUEUE, async (job) => await processJob(job, deps), {
    connection: redis,
    prefix: config.queuePrefix,
    concurrency: config.workerConcurrency
  })
  worker.on('error', (err) => log.error({ err: { message: err.message } }, 'worker error'))
  worker.on('failed', (job, err) => { if (job) void onFailed(job, err, deps) })
  log.info({ fingerprint: keyring.fingerprint, sink: hasGithub(config) ? 'github' : 'outbox', mail: config.smtpUrl !== undefined ? 'smtp' : 'outbox' }, 'worker started')

  return {
    worker,
    close: async () => {
      await worker.close() // lets running jobs finish
      mailer.close()
      redis.disconnect()
    }
  }
}

function ownAddresses (config: Config): string[] {
  return [...new Set([config.securityEmail, addressOf(config.mailFrom)].map((a) => a.toLowerCase()))]
}

function advisorySink (config: Config, log: Logger): AdvisorySink {
  if (!hasGithub(config)) return outboxSink(config.outboxDir)
  const auth = config.github.token ?? config.github.app
  if (auth === undefined) throw new Error('no GitHub credentials')
  return githubSink(createOctokit({ baseUrl: config.github.apiUrl, auth, log, writeIntervalMs: config.github.writeIntervalMs }), log)
}

/**
 * Runs one job. On its last attempt, a failure is quarantined *before* the job is
 * failed: done from the `failed` event alone, a crash in between would leave the report
 * neither filed nor quarantined.
 */
async function processJob (job: Job<JobMap['process-report']>, deps: ProcessDeps) {
  try {
    return await processReport(job, deps)
  } catch (err) {
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
    await quarantineFailed(job, err.message, deps) // idempotent: skips what processJob already recorded
  } catch (e) {
    deps.log.error({ intakeId: job.data.intakeId, err: { message: (e as Error).message } }, 'could not record quarantine entry')
  }
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
  const ours = e instanceof UnrecoverableError || e instanceof ReportError || e instanceof AdvisoryTransientError || e instanceof AdvisoryPermanentError || e instanceof ReportBusyError
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
