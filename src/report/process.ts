// One report, start to finish: unseal, open (decrypt, verify, parse), file the draft
// advisory, answer the reporter, tell the team. Each side effect is recorded in the
// progress hash before the next starts, so a retry resumes instead of repeating.
import type { KeyObject } from 'node:crypto'
import type { Redis } from 'ioredis'
import { UnrecoverableError } from 'bullmq'
import type { Logger } from '../log.js'
import type { JobMap } from '../queue/jobs.js'
import { gatewayKeys } from '../queue/jobs.js'
import { open } from '../seal/hpke.js'
import type { TeamKeyring } from '../pgp/types.js'
import { openReport } from '../mail/open-report.js'
import { ReportError } from './errors.js'
import type { OpenedReport } from './types.js'
import { outerHeaders } from './outer-headers.js'
import { buildCreateBody } from '../advisory/render.js'
import type { AdvisorySink } from '../advisory/sink.js'
import { AdvisoryPermanentError } from '../advisory/sink.js'
import { automatedMessage, mayAutoReply } from '../mail/auto-reply-policy.js'
import { NoReplyRecipientError, acknowledgement, answersOwnMessage, couldNotDecrypt, teamNotification } from '../mail/messages.js'
import type { Mailer } from '../mail/transport.js'
import { withReportLock } from './lock.js'
import type { Progress, ProgressStore, ReplyKind, TeamNoticeKind } from './state.js'
import type { QuarantineStore } from '../quarantine/store.js'
import type { KeyReplier } from '../keys/key-request.js'
import type { MailMessage } from '../mail/messages.js'
import type { RawMail } from '../mail/pgp-mime.js'

export interface ProcessDeps {
  redis: Redis
  prefix: string
  sealKey: KeyObject
  keyring: TeamKeyring
  sink: AdvisorySink
  github: { owner: string, repo: string }
  mailer: Mailer
  mail: { from: string, publicUrl: string, teamNotifyEmail?: string, /** our own addresses, lower-case */ ownAddresses: string[] }
  progress: ProgressStore
  quarantine: QuarantineStore
  sealedTtlSeconds: number
  log: Logger
  /** Key by e-mail (src/keys/key-request.ts); absent: every mail is a report. */
  keys?: KeyReplier
}

export interface ProcessJob {
  data: JobMap['process-report']
}

export interface ProcessOutcome {
  outcome: 'advisory' | 'quarantined' | 'key-request'
  ghsaId?: string
  /** The report arrived encrypted (and was decrypted). */
  encrypted?: boolean
}

export async function processReport (job: ProcessJob, deps: ProcessDeps): Promise<ProcessOutcome> {
  return await withReportLock(deps.redis, deps.prefix, job.data.intakeId, async () => await processLocked(job, deps))
}

async function processLocked (job: ProcessJob, deps: ProcessDeps): Promise<ProcessOutcome> {
  const { intakeId } = job.data
  const raw = await unseal(intakeId, deps)
  let report: OpenedReport
  try {
    report = await openReport(raw, { keyring: deps.keyring })
  } catch (err) {
    if (err instanceof ReportError) {
      await quarantineUnreadable(intakeId, job, raw, err, deps)
      throw new UnrecoverableError(`${err.code}: ${err.message}`)
    }
    throw err
  }

  // An operator's replay files it whatever it looks like.
  const automated = job.data.replay === undefined ? automatedMessage(report, deps.mail.ownAddresses) : undefined
  if (automated !== undefined) {
    await deps.quarantine.add({ intakeId, code: 'automated', reason: `not a report (${automated}); replay to file it anyway`, source: job.data.source, attempts: 1 })
    deps.log.info({ intakeId, reason: automated }, 'automated mail kept in quarantine, no advisory')
    return { outcome: 'quarantined' }
  }

  const progress = await deps.progress.open(intakeId)
  // A mail that only asks for our key gets it and opens no advisory (an operator's replay files it).
  const keyMail = deps.keys === undefined || job.data.replay !== undefined ? 'report' : deps.keys.classify(report)
  if (keyMail === 'request') {
    await sendKey(intakeId, report, progress, deps)
    await progress.record({ outcome: 'key-request' })
    await deps.redis.expire(gatewayKeys(deps.prefix).sealed(intakeId), deps.sealedTtlSeconds)
    deps.log.info({ intakeId }, 'key request answered, no advisory')
    return { outcome: 'key-request' }
  }
  const advisory = await fileAdvisory(intakeId, job, report, progress, deps)
  await replyToReporter(intakeId, 'ack', report, progress, deps, () => acknowledgement({
    report, intakeId, advisory, from: deps.mail.from, publicUrl: deps.mail.publicUrl, teamFingerprint: deps.keyring.fingerprint
  }))
  if (keyMail === 'report-and-key') await sendKey(intakeId, report, progress, deps)
  await notifyTeam(intakeId, 'received', progress, deps, { advisory, report })
  await progress.record({ outcome: 'advisory' })
  await deps.redis.expire(gatewayKeys(deps.prefix).sealed(intakeId), deps.sealedTtlSeconds)
  if (job.data.replay !== undefined) await deps.quarantine.remove(intakeId)
  deps.log.info({ intakeId, ghsaId: advisory.ghsaId, encrypted: report.encrypted, signature: report.signature.state }, 'report processed')
  return { outcome: 'advisory', ghsaId: advisory.ghsaId, encrypted: report.encrypted }
}

async function unseal (intakeId: string, deps: ProcessDeps): Promise<Buffer> {
  const sealed = await deps.redis.getBuffer(gatewayKeys(deps.prefix).sealed(intakeId))
  if (sealed === null) throw new UnrecoverableError(`sealed-missing: no sealed message for intake ${intakeId}`)
  try {
    return open(deps.sealKey, sealed, intakeId)
  } catch {
    // Wrong seal key (misconfigured split deployment): keep it for a replay once fixed.
    await deps.quarantine.add({ intakeId, code: 'unsealable', reason: 'the sealed message could not be opened with this worker\'s SEAL_PRIVATE_KEY', source: 'worker', attempts: 1 })
    throw new UnrecoverableError('unsealable: seal key does not open this message')
  }
}

async function fileAdvisory (intakeId: string, job: ProcessJob, report: OpenedReport, progress: Progress, deps: ProcessDeps): Promise<{ ghsaId: string, htmlUrl: string }> {
  const { ghsaId, advisoryUrl, advisoryPending } = progress.state
  if (ghsaId !== undefined) return { ghsaId, htmlUrl: advisoryUrl ?? '' }
  const body = buildCreateBody(report, { intakeId, receivedAt: new Date(job.data.receivedAt), provider: job.data.source })
  // Pending before the POST: if we die between the POST and the record below, the
  // retry looks the advisory up by its intake marker instead of creating another.
  await progress.record({ advisoryPending: '1' })
  try {
    const ref = await deps.sink.create({ ...deps.github, intakeId, body }, { lookupFirst: advisoryPending === '1' })
    await progress.record({ ghsaId: ref.ghsaId, advisoryUrl: ref.htmlUrl })
    return ref
  } catch (err) {
    if (err instanceof AdvisoryPermanentError) throw new UnrecoverableError(err.message)
    throw err
  }
}

async function sendKey (intakeId: string, report: OpenedReport, progress: Progress, deps: ProcessDeps): Promise<void> {
  const keys = deps.keys
  if (keys !== undefined) await replyToReporter(intakeId, 'key', report, progress, deps, async () => await keys.build(report, intakeId))
}

type BuiltReply = MailMessage | RawMail | { suppressed: string }

async function replyToReporter (intakeId: string, kind: ReplyKind, report: Pick<OpenedReport, 'headers' | 'from'>, progress: Progress, deps: ProcessDeps, build: () => BuiltReply | Promise<BuiltReply>): Promise<void> {
  const field = `reply.${kind}` as const
  if (progress.state[field] !== undefined) return
  const policy = answersOwnMessage(report.headers, deps.mail.from)
    ? { ok: false as const, reason: 'answers one of our own automatic messages' }
    : mayAutoReply(report)
  if (!policy.ok) {
    await progress.record({ [field]: `suppressed: ${policy.reason}` })
    deps.log.info({ intakeId, kind, reason: policy.reason }, 'reply suppressed (RFC 3834)')
    return
  }
  let message
  try {
    message = await build()
  } catch (err) {
    if (!(err instanceof NoReplyRecipientError)) throw err
    await progress.record({ [field]: 'suppressed: no usable reply address' })
    return
  }
  if ('suppressed' in message) {
    await progress.record({ [field]: `suppressed: ${message.suppressed}` })
    deps.log.info({ intakeId, kind, reason: message.suppressed }, 'reply suppressed')
    return
  }
  try {
    const sent = await deps.mailer.send(message)
    await progress.record({ [field]: sent.messageId })
  } catch (err) {
    // A permanent refusal (5xx: no such mailbox, policy) will not change on retry, and
    // the report is already filed: record it rather than fail the job.
    const responseCode = (err as { responseCode?: unknown }).responseCode
    if (typeof responseCode !== 'number' || responseCode < 500) throw err
    await progress.record({ [field]: `suppressed: refused by the mail server (${responseCode})` })
    deps.log.warn({ intakeId, kind, responseCode }, 'reply refused by the mail server')
  }
}

async function notifyTeam (intakeId: string, kind: TeamNoticeKind, progress: Progress, deps: ProcessDeps, about: { advisory?: { ghsaId: string, htmlUrl: string }, report?: OpenedReport, quarantined?: string }): Promise<void> {
  const to = deps.mail.teamNotifyEmail
  if (to === undefined) return
  const field = `team.${kind}` as const
  if (progress.state[field] !== undefined) return
  await deps.mailer.send(teamNotification({
    intakeId,
    to,
    from: deps.mail.from,
    ...(about.advisory ? { advisory: about.advisory } : {}),
    repo: `${deps.github.owner}/${deps.github.repo}`,
    flags: {
      encrypted: about.report?.bodyEncrypted ?? about.report?.encrypted ?? false, // the body: an encrypted attachment beside cleartext is not an encrypted report
      signature: about.report?.signature.state ?? 'unknown',
      unverifiedSender: !senderVerified(about.report),
      ...(about.quarantined !== undefined ? { quarantined: about.quarantined } : {})
    }
  }))
  await progress.record({ [field]: new Date().toISOString() })
}

/**
 * A valid signature proves who sent the mail only when the key was already on record
 * for that address: a key that arrives in the same message (Autocrypt, attachment)
 * could have been made by whoever forged the From.
 */
function senderVerified (report: OpenedReport | undefined): boolean {
  return report?.signature.state === 'verified' && report.signature.keySource === 'known'
}

async function quarantineUnreadable (intakeId: string, job: ProcessJob, raw: Buffer, err: ReportError, deps: ProcessDeps): Promise<void> {
  await deps.quarantine.add({ intakeId, code: err.code, reason: err.message, source: job.data.source, attempts: 1 })
  deps.log.warn({ intakeId, code: err.code }, 'report quarantined')
  const progress = await deps.progress.open(intakeId)
  await notifyTeam(intakeId, 'quarantined', progress, deps, { quarantined: `${err.code}: ${err.message}` })
  // Outer headers are not encrypted, so we can still thread a reply and apply RFC 3834.
  const outer = await outerHeaders(raw)
  if (outer === undefined) return
  await replyToReporter(intakeId, 'unreadable', outer, progress, deps, () => couldNotDecrypt({
    report: outer, intakeId, from: deps.mail.from, publicUrl: deps.mail.publicUrl, teamFingerprint: deps.keyring.fingerprint
  }))
}

/**
 * Called by the worker when a job has failed for good (last attempt used, or a
 * permanent error such as GitHub's 422): keep the report and tell the team.
 */
export async function quarantineFailed (job: ProcessJob & { attemptsMade: number, processedOn?: number | undefined }, message: string, deps: ProcessDeps): Promise<void> {
  const { intakeId, source } = job.data
  const existing = await deps.quarantine.get(intakeId)
  // Unreadable reports were quarantined (with a precise code) during this very attempt,
  // and the worker calls this twice for a final failure (in the run, then on `failed`).
  const alreadyThisRun = existing !== undefined && Date.parse(existing.at) >= (job.processedOn ?? Infinity)
  if (!alreadyThisRun) {
    const attempts = Math.max(job.attemptsMade, 1)
    await deps.quarantine.add({ intakeId, code: 'failed', reason: `failed after ${attempts} attempt(s): ${message}`, source, attempts })
    deps.log.error({ intakeId, attempts }, 'report quarantined after a final failure')
  }
  const progress = await deps.progress.open(intakeId)
  await notifyTeam(intakeId, 'quarantined', progress, deps, { quarantined: `processing failed: ${message}` })
}
