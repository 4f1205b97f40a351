// The worker role: BullMQ consumer of the reports queue. It is the only role that
// holds the team's secret PGP key and the seal private key.
import { readFileSync } from 'node:fs'
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq'
import type { Octokit } from '@octokit/rest'
import { hasGithub, type Config } from './config.js'
import type { Logger } from './log.js'
import { QUEUE, TIMELINE_QUEUE, type JobMap } from './queue/jobs.js'
import { createWorkerRedis } from './redis.js'
import { sealPrivateKey } from './seal/keys.js'
import { loadWorkerKeyring, teamKeyArmor } from './pgp/team-key.js'
import { createOctokit } from './advisory/github-client.js'
import { AdvisoryPermanentError, AdvisoryTransientError, githubSink, outboxSink } from './advisory/sink.js'
import { ReportError } from './report/errors.js'
import { ReportBusyError } from './report/lock.js'
import { createMailer } from './mail/transport.js'
import { addressOf } from './mail/messages.js'
import { progressStore } from './report/state.js'
import { quarantineStore } from './quarantine/store.js'
import { processReport, quarantineFailed, type ProcessDeps } from './report/process.js'
import { outgoingMail } from './mail/outgoing.js'
import { replyWindow } from './mail/reply-window.js'
import { loadTemplates } from './mail/templates.js'
import { reporterKeyStore } from './pgp/key-store.js'
import { chatNotifier } from './notify/chat.js'
import { loadMemberKeys, teamChannels } from './notify/team.js'
import { startTimeline, startTimelineWorker } from './timeline/timeline.js'
import { createKeySource } from './keys/published.js'
import { startPublisher } from './keys/publisher.js'
import { createKeyReplier } from './keys/key-request.js'
import { createDecryptPool } from './pgp/decrypt-pool.js'

export interface RunningWorker {
  worker: Worker<JobMap['process-report']>
  close: () => Promise<void>
}

export async function startWorker (opts: { config: Config, log: Logger }): Promise<RunningWorker> {
  const { config, log } = opts
  const loaded = await loadWorkerKeyring(config, log)
  const pool = config.decryptThreads > 0 ? createDecryptPool({ threads: config.decryptThreads, ...teamKeyArmor(config) }) : undefined
  const keyring = pool === undefined ? loaded : { ...loaded, offload: pool.decrypt }
  const redis = createWorkerRedis(config.redisUrl)
  redis.on('error', (err) => log.warn({ err: { message: err.message } }, 'redis (worker) error'))
  const keySource = createKeySource({ keysDir: config.keysDir, production: config.production })
  const mailer = createMailer({ ...(config.smtpUrl !== undefined ? { smtpUrl: config.smtpUrl } : {}), outboxDir: config.outboxDir, log, ...dkimOptions(config) })
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
  const octokit = githubClient(config, log)
  const timelineQueue = new Queue(TIMELINE_QUEUE, { connection: redis, prefix: config.queuePrefix })
  timelineQueue.on('error', (err) => log.warn({ err: { message: err.message } }, 'timeline queue error'))
  const progress = progressStore(redis, config.queuePrefix)
  const sealKey = sealPrivateKey(config)
  const deps: ProcessDeps = {
    redis,
    prefix: config.queuePrefix,
    sealKey,
    keyring,
    sink: octokit === undefined ? outboxSink(config.outboxDir) : githubSink(octokit, log),
    github: { owner: config.github.owner ?? 'local', repo: config.github.defaultRepo ?? 'security-reports' },
    mail: { from: config.mailFrom, publicUrl: config.publicUrl, ownAddresses: ownAddresses(config) },
    reply: { outgoing, keyStore, window },
    keyStore,
    team,
    templates,
    // Without GitHub there is no advisory state to poll: no reminders.
    ...(octokit !== undefined ? { timeline: { start: async (ref) => { await startTimeline({ redis, prefix: config.queuePrefix, queue: timelineQueue, timeline: config.timeline, retry: config }, ref) } } } : {}),
    progress,
    quarantine: quarantineStore(redis, config.queuePrefix),
    sealedTtlSeconds: config.sealedTtlDays * 24 * 3600,
    log,
    keys: createKeyReplier({ keySource, keyring, redis, prefix: config.queuePrefix, securityEmail: config.securityEmail, publicUrl: config.publicUrl, from: config.mailFrom, templates })
  }

  // The worker holds the key, so it signs security.txt for the web role to serve.
  const publisher = await startPublisher({ redis, prefix: config.queuePrefix, keyring, keySource, log, settings: { securityEmail: config.securityEmail, publicUrl: config.publicUrl, ...config.securityTxt } })

  const worker = new Worker<JobMap['process-report']>(QUEUE, async (job) => await processJob(job, deps), {
    connection: redis,
    prefix: config.queuePrefix,
    concurrency: config.workerConcurrency
  })
  worker.on('error', (err) => log.error({ err: { message: err.message } }, 'worker error'))
  worker.on('failed', (job, err) => { if (job) void onFailed(job, err, deps) })
  const timelineWorker = octokit === undefined
    ? undefined
    : startTimelineWorker({
      redis, prefix: config.queuePrefix, queue: timelineQueue, octokit, progress, sealKey, team, templates,
      reply: { outgoing, keyStore, window, mail: { from: config.mailFrom }, log },
      mail: { from: config.mailFrom, publicUrl: config.publicUrl }, timeline: config.timeline, retry: config, log
    })
  log.info({ fingerprint: keyring.fingerprint, sink: hasGithub(config) ? 'github' : 'outbox', mail: config.smtpUrl !== undefined ? 'smtp' : 'outbox' }, 'worker started')

  return {
    worker,
    close: async () => {
      publisher.close()
      await worker.close() // lets running jobs finish
      await timelineWorker?.close()
      await timelineQueue.close()
      mailer.close()
      await pool?.close()
      redis.disconnect()
    }
  }
}

function ownAddresses (config: Config): string[] {
  return [...new Set([config.securityEmail, addressOf(config.mailFrom)].map((a) => a.toLowerCase()))]
}

function githubClient (config: Config, log: Logger): Octokit | undefined {
  if (!hasGithub(config)) return undefined
  const auth = config.github.token ?? config.github.app
  if (auth === undefined) throw new Error('no GitHub credentials')
  return createOctokit({ baseUrl: config.github.apiUrl, auth, log, writeIntervalMs: config.github.writeIntervalMs })
}

/** DKIM_PRIVATE_KEY holds the PEM itself or the path of a file holding it. */
function dkimOptions (config: Config): { dkim?: { domainName: string, keySelector: string, privateKey: string } } {
  if (config.dkim === undefined) return {}
  const { privateKey, selector, domain } = config.dkim
  const pem = privateKey.includes('-----BEGIN') ? privateKey : readFileSync(privateKey, 'utf8')
  return { dkim: { domainName: domain, keySelector: selector, privateKey: pem } }
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
