// One report, start to finish: unseal, open (decrypt, verify, parse), file the draft
// advisory, answer the reporter, tell the team. Each side effect is recorded in the
// progress hash before the next starts, so a retry resumes instead of repeating.
import type { KeyObject } from 'node:crypto'
import type { Redis } from 'ioredis'
import { UnrecoverableError } from 'bullmq'
import type { Logger } from '../log.js'
import type { JobMap } from '../queue/jobs.js'
import { gatewayKeys } from '../queue/jobs.js'
import { openStored, UnsealError } from '../seal/stored.js'
import type { TeamKeyring } from '../pgp/types.js'
import { openReport } from '../mail/open-report.js'
import { ReportError } from '../domain/errors.js'
import type { OpenedReport, SignatureState } from '../domain/report.js'
import { outerHeaders } from '../mail/outer-headers.js'
import { readableMessage } from './message-shape.js'
import { buildCreateBody } from '../advisory/render.js'
import type { AdvisorySink } from '../advisory/sink.js'
import { AdvisoryPermanentError } from '../advisory/sink.js'
import { automatedMessage } from '../mail/auto-reply-policy.js'
import { acknowledgement, couldNotDecrypt, teamNotification } from '../mail/messages.js'
import type { Templates } from '../mail/templates.js'
import { memoizedKeyStore, type ReporterKeyStore } from '../pgp/key-store.js'
import type { RedisCommand } from '../store/exec.js'
import type { TeamChannels } from '../notify/team.js'
import { withReportLock } from '../store/lock.js'
import type { MemoryTicket } from './admission.js'
import { replyToReporter, type ReplyDeps } from '../mail/reply.js'
import type { Progress, ProgressStore, TeamNoticeKind } from '../store/progress.js'
import type { QuarantineStore } from '../quarantine/store.js'
import { unpackPayload } from '../seal/payload.js'
import type { InboundMeta } from '../domain/inbound.js'
import type { AbuseCheck } from './abuse.js'
import type { KeyReplier } from '../keys/key-request.js'
import { enrich, type EnrichDeps, type Enriched } from '../advisory/enrich.js'
import { triageSection } from '../advisory/triage-section.js'
import { findDisclosure } from '../triage/disclosure.js'
import type { SeverityDecision } from '../triage/index.js'
import type { PrivateForkPolicy, Severity } from '../domain/advisory.js'
import { appendFollowUp, findThreadRoot, senderHash, type ThreadRoot } from './follow-up.js'
import type { ThreadIndex } from '../store/thread-index.js'
import type { ReportEvents } from '../store/events.js'
import { forkOnCreation } from '../advisory/private-fork.js'

export interface ProcessDeps {
  redis: Redis
  prefix: string
  sealKey: KeyObject
  keyring: TeamKeyring
  sink: AdvisorySink
  github: { owner: string, repo: string }
  mail: { from: string, publicUrl: string, /** our own addresses, lower-case */ ownAddresses: string[] }
  /** Replies to reporters: signed/encrypted mail, the key store, the RFC 3834 window. */
  reply: Omit<ReplyDeps, 'mail' | 'log'>
  keyStore: ReporterKeyStore
  team: TeamChannels
  templates: Templates
  /** Starts the SECURITY.md reminders for a filed advisory (absent without GitHub: nothing to poll). */
  timeline?: { start: (ref: { intakeId: string, owner: string, repo: string, ghsaId: string, urgent: boolean }) => Promise<void> }
  progress: ProgressStore
  /** The report's timeline: each step with its time (advisory timeline, retrospective). */
  events: ReportEvents
  quarantine: QuarantineStore
  sealedTtlSeconds: number
  log: Logger
  /** Key by e-mail (src/keys/key-request.ts); absent: every mail is a report. */
  keys?: KeyReplier
  /** Routing, GitHub facts and inline-attachment size for the advisory's triage. */
  triage: Omit<EnrichDeps, 'owner' | 'defaultRepo'>
  threads: ThreadIndex
  /** Spam, DMARC and per-sender rate checks (absent: none). */
  abuse?: AbuseCheck
  /** PRIVATE_FORK_POLICY: which advisories are filed with their temporary private fork (absent: never). */
  privateForkPolicy?: PrivateForkPolicy
  /** This job's share of the worker's memory budget (absent: no budget, the fixed caps only). */
  memory?: MemoryTicket
  /** openReport elsewhere (a thread pool), same contract (absent: on this thread). */
  openReport?: typeof openReport
}

export interface ProcessJob {
  data: JobMap['process-report']
}

export interface ProcessOutcome {
  outcome: 'advisory' | 'quarantined' | 'key-request' | 'follow-up'
  ghsaId?: string
  /** The report arrived encrypted (and was decrypted). */
  encrypted?: boolean
  /** Its signature's state, for the outcome's log line. */
  signature?: SignatureState['state']
}

export async function processReport (job: ProcessJob, deps: ProcessDeps): Promise<ProcessOutcome> {
  return await withReportLock(deps.redis, deps.prefix, job.data.intakeId, async () => {
    const progress = await deps.progress.open(job.data.intakeId)
    let outcome: ProcessOutcome
    try {
      outcome = await processLocked(job, progress, { ...deps, ...perRun(deps) })
    } catch (err) {
      // What was noted still goes on record; the run's own error is the one that counts.
      await progress.flush().catch((e: Error) => { deps.log.warn({ intakeId: job.data.intakeId, err: { message: e.message } }, 'progress not written') })
      throw err
    }
    await progress.flush()
    return outcome
  })
}

/** Per run: the reporter key store read once per address (the open and the reply both ask). */
function perRun (deps: ProcessDeps): Pick<ProcessDeps, 'keyStore' | 'reply'> {
  const keyStore = memoizedKeyStore(deps.keyStore)
  return { keyStore, reply: { ...deps.reply, keyStore } }
}

async function processLocked (job: ProcessJob, progress: Progress, deps: ProcessDeps): Promise<ProcessOutcome> {
  const { intakeId } = job.data
  const { raw, meta } = await unseal(intakeId, deps)
  progress.event('received', { at: job.data.receivedAt, detail: `via ${job.data.source}` })
  // Before anything is opened or answered: spam gets neither an advisory nor a reply.
  const held = job.data.replay === undefined ? await deps.abuse?.(intakeId, raw, meta) : undefined
  if (held !== undefined) {
    await deps.quarantine.add({ intakeId, code: held.code, reason: `${held.reason}; replay to file it anyway`, source: job.data.source, attempts: 1 })
    progress.event('quarantined', { detail: held.code })
    deps.log.info({ intakeId, code: held.code }, 'held in quarantine (spam/abuse), no advisory, no acknowledgement')
    return { outcome: 'quarantined' }
  }
  let report: OpenedReport
  try {
    report = await openWithin(await readableMessage(raw), deps)
  } catch (err) {
    if (err instanceof ReportError) {
      await quarantineUnreadable(intakeId, job, raw, err, progress, deps)
      throw new UnrecoverableError(`${err.code}: ${err.message}`)
    }
    throw err
  }
  progress.event('decrypted', { detail: `${report.encrypted ? 'encrypted' : 'not encrypted'}, signature ${report.signature.state}` })

  // An operator's replay files it whatever it looks like.
  const automated = job.data.replay === undefined ? automatedMessage(report, deps.mail.ownAddresses) : undefined
  if (automated !== undefined) {
    await deps.quarantine.add({ intakeId, code: 'automated', reason: `not a report (${automated}); replay to file it anyway`, source: job.data.source, attempts: 1 })
    progress.event('quarantined', { detail: 'automated' })
    deps.log.info({ intakeId, reason: automated }, 'automated mail kept in quarantine, no advisory')
    return { outcome: 'quarantined' }
  }

  await rememberReporterKey(intakeId, report, deps)
  // A mail that only asks for our key gets it and opens no advisory (an operator's replay files it).
  const keyMail = deps.keys === undefined || job.data.replay !== undefined ? 'report' : deps.keys.classify(report)
  if (keyMail === 'request') {
    // Never dropped: the rule can take a short report for a mere key request, so the
    // original stays in the quarantine (listed, sealed) for a human to replay as a report.
    await deps.quarantine.add({ intakeId, code: 'key-request', reason: 'answered with the team key, no advisory opened; replay to file it as a report', source: job.data.source, attempts: 1 })
    await sendKey(intakeId, report, progress, deps)
    await progress.record({ outcome: 'key-request' })
    deps.log.info({ intakeId }, 'key request answered, no advisory')
    return { outcome: 'key-request' }
  }
  // A report already being filed as its own advisory stays one, whatever a retry sees.
  const root = progress.state.advisoryPending === undefined ? await findThreadRoot(report, intakeId, followUpDeps(deps)) : undefined
  // A published (or closed) advisory takes no follow-ups: mail that threads to one
  // ("bypass of GHSA-…", whose id is public now) is a new report with its own draft.
  if (root !== undefined && (progress.state.followUpOf !== undefined || await isDraft(root, deps))) {
    return await processFollowUp(intakeId, job, report, root, progress, deps)
  }
  const enriched = await enrich(report, { ...deps.triage, owner: deps.github.owner, defaultRepo: deps.github.repo })
  const advisory = await fileAdvisory(intakeId, job, report, progress, deps, enriched, meta)
  await addCollaborators(intakeId, advisory, progress, deps, enriched)
  await replyToReporter(intakeId, 'ack', report, progress, replyDeps(deps), () => acknowledgement({
    report, intakeId, advisory, from: deps.mail.from, publicUrl: deps.mail.publicUrl, teamFingerprint: deps.keyring.fingerprint, templates: deps.templates
  }), { authenticated: authenticatedSender(report, meta) })
  progress.event('acknowledged', { detail: replyOutcome(progress.state['reply.ack']) })
  if (keyMail === 'report-and-key') await sendKey(intakeId, report, progress, deps)
  await notifyTeam(intakeId, 'received', progress, deps, { advisory, report })
  progress.event('team-notified', { detail: teamChannelsUsed(deps) })
  await startTimeline(intakeId, advisory, progress, deps)
  await progress.record({ outcome: 'advisory' }, [sealedExpiry(intakeId, deps)])
  if (job.data.replay !== undefined) await deps.quarantine.remove(intakeId)
  return { outcome: 'advisory', ghsaId: advisory.ghsaId, encrypted: report.encrypted, signature: report.signature.state }
}

async function unseal (intakeId: string, deps: ProcessDeps): Promise<{ raw: Buffer, meta?: InboundMeta }> {
  const key = gatewayKeys(deps.prefix).sealed(intakeId)
  // Memory first (about the sealed size), then the bytes: a job waiting for its turn holds none.
  const length = await deps.redis.strlen(key)
  if (deps.memory !== undefined) await deps.memory.reserve(length)
  let plaintext: Buffer | undefined
  try {
    plaintext = await openStored(deps.redis, key, deps.sealKey, intakeId, length)
  } catch (err) {
    if (err instanceof UnsealError) return await unsealable(intakeId, deps)
    throw err // Redis, not the seal: retried
  }
  if (plaintext === undefined) throw new UnrecoverableError(`sealed-missing: no sealed message for intake ${intakeId}`)
  try {
    return unpackPayload(plaintext)
  } catch {
    return await unsealable(intakeId, deps)
  }
}

/** Wrong seal key (misconfigured split deployment): kept for a replay once fixed. */
async function unsealable (intakeId: string, deps: ProcessDeps): Promise<never> {
  await deps.quarantine.add({ intakeId, code: 'unsealable', reason: 'the sealed message could not be opened with this worker\'s SEAL_PRIVATE_KEY', source: 'worker', attempts: 1 })
  throw new UnrecoverableError('unsealable: seal key does not open this message')
}

async function fileAdvisory (intakeId: string, job: ProcessJob, report: OpenedReport, progress: Progress, deps: ProcessDeps, enriched: Enriched, meta?: InboundMeta): Promise<{ ghsaId: string, htmlUrl: string }> {
  const { ghsaId, advisoryUrl, advisoryPending } = progress.state
  if (ghsaId !== undefined) {
    // A retry: the GHSA mapping (written with ghsaId, but not atomically) is written again
    // with the next record, so a follow-up naming the advisory still finds this report.
    progress.note({}, deps.threads.rememberAdvisoryCommands(ghsaId, intakeId))
    return { ghsaId, htmlUrl: advisoryUrl ?? '' }
  }
  // A retry files where the first attempt did (its lookup by marker must find it there).
  const repo = progress.state.advisoryRepo?.split('/')[1] ?? enriched.route.repo
  const provider = meta?.rebuilt === true ? `${job.data.source} (rebuilt by provider, signatures unverifiable)` : job.data.source
  // For the fork policy, team notices and reminders: the severity sent, or the band the
  // vector scores (computed by the calculator from a validated vector: an enum, never report text).
  const severity = filedSeverity(enriched.severity)
  const policy = deps.privateForkPolicy ?? 'never'
  const fork = forkOnCreation(policy, severity)
  const body = buildCreateBody(report, { intakeId, receivedAt: new Date(job.data.receivedAt), provider }, { ...createOptions(enriched, deps.github.owner), ...(fork ? { startPrivateFork: true } : {}) })
  // Pending before the POST: if we die between the POST and the record below, the
  // retry looks the advisory up by its intake marker instead of creating another.
  const sender = senderHash(deps.sealKey, report.from?.address)
  // With it, the Message-ID's thread mapping (the web role wrote it at intake; a replay
  // or an older intake may not have): a reply arriving while this is filed waits for it.
  await progress.record({ advisoryPending: '1', advisoryRepo: `${deps.github.owner}/${repo}`, ...(sender === undefined ? {} : { senderHash: sender }) }, deps.threads.rememberFirstCommands(report.messageId, intakeId))
  try {
    const ref = await deps.sink.create({ owner: deps.github.owner, repo, intakeId, body }, { lookupFirst: advisoryPending === '1' })
    progress.event('advisory-created', { detail: `${ref.ghsaId} in ${deps.github.owner}/${repo}` })
    if (fork) progress.event('fork-created', { detail: `requested at creation (policy ${policy})` })
    await progress.record({ ghsaId: ref.ghsaId, advisoryUrl: ref.htmlUrl, ...(severity !== undefined ? { severity } : {}), ...(enriched.findings.disclosure.publiclyDisclosed ? { urgent: '1' } : {}) }, deps.threads.rememberAdvisoryCommands(ref.ghsaId, intakeId))
    return ref
  } catch (err) {
    if (err instanceof AdvisoryPermanentError) throw new UnrecoverableError(err.message)
    throw err
  }
}

/**
 * The severity the advisory is filed with, for the fork policy, team notices and
 * reminders: the band its CVSS vector scores (computed by the calculator from a validated
 * vector), else the stated severity. Always GitHub's enum or nothing: a vector's first
 * field ("CVSS:3.1") is not a severity, and report text never reaches a chat line.
 */
export function filedSeverity (decision: Pick<SeverityDecision, 'vector' | 'severity'>): Severity | undefined {
  const found = decision.vector === undefined ? decision.severity : decision.vector.band
  return found !== undefined && SEVERITIES.includes(found as Severity) ? found as Severity : undefined
}

const SEVERITIES: readonly string[] = ['critical', 'high', 'medium', 'low']

function replyDeps (deps: ProcessDeps): ReplyDeps {
  return { ...deps.reply, mail: { from: deps.mail.from }, log: deps.log }
}

/**
 * Reporter key discovery, in order: the key that made a valid signature, an Autocrypt
 * header (Level 1), an attached key whose user ID is From (open-report.ts picks it).
 * Kept per sender address, public half only, so later mail can be encrypted.
 */
async function rememberReporterKey (intakeId: string, report: OpenedReport, deps: ProcessDeps): Promise<void> {
  const found = report.reporterKey
  const address = report.from?.address
  if (found === undefined || address === undefined || found.source === 'known') return
  // Only the key on record can vouch for a replacement: a signature by the offered key
  // itself is made as easily by whoever forged From (see senderVerified).
  const vouched = senderVerified(report)
  const outcome = await deps.keyStore.remember(address, found.armored, { source: found.source, vouched })
  deps.log.info({ intakeId, fingerprint: found.fingerprint, source: found.source, vouched, outcome }, 'reporter key')
}

/** The message opened within this job's memory reservation, with the plaintext cap it sets. */
async function openWithin (raw: Buffer, deps: ProcessDeps): Promise<OpenedReport> {
  const open = deps.openReport ?? openReport
  const run = async (plaintextBytes?: number): Promise<OpenedReport> => await open(raw, {
    keyring: deps.keyring,
    knownSenderKeys: async (address) => await knownKeys(address, deps),
    ...(plaintextBytes === undefined ? {} : { plaintextBytes })
  })
  return deps.memory === undefined ? await run() : await deps.memory.open(raw, run)
}

/** Keys on record for a sender: a signature by one of them verifies the sender. */
async function knownKeys (address: string, deps: ProcessDeps) {
  const known = await deps.keyStore.get(address)
  return known === undefined ? [] : [known.key]
}

async function startTimeline (intakeId: string, advisory: { ghsaId: string }, progress: Progress, deps: ProcessDeps): Promise<void> {
  if (deps.timeline === undefined || progress.state['timeline.started'] !== undefined) return
  await deps.timeline.start({ intakeId, ...advisoryRepo(progress, deps), ghsaId: advisory.ghsaId, urgent: progress.state.urgent === '1' })
  // Starting again is harmless (its jobs have fixed ids): noted, written with the outcome.
  progress.note({ 'timeline.started': new Date().toISOString() })
}

function createOptions (e: Enriched, owner: string): Parameters<typeof buildCreateBody>[2] {
  const versions = e.findings.versions
  const d = e.findings.disclosure
  return {
    vulnerabilities: [{
      package: e.package,
      ...(versions.vulnerableRange === undefined ? {} : { vulnerable_version_range: versions.vulnerableRange }),
      ...(versions.patched === undefined ? {} : { patched_versions: versions.patched })
    }],
    ...(e.severity.vector !== undefined ? { cvssVectorString: e.severity.vector.vector } : {}),
    ...(e.severity.vector === undefined && e.severity.severity !== undefined ? { severity: e.severity.severity } : {}),
    cweIds: e.findings.cweIds,
    reporters: e.credits,
    extras: {
      sections: triageSection(e, owner),
      inline: e.inline,
      ...(d.publiclyDisclosed ? { summaryPrefix: d.exploited ? '[EXPLOITED]' : '[PUBLICLY DISCLOSED]' } : {})
    }
  }
}

/** CODEOWNERS owners (and a reporter who asked) get access: arrays replace, so one PATCH. */
async function addCollaborators (intakeId: string, advisory: { ghsaId: string }, progress: Progress, deps: ProcessDeps, e: Enriched): Promise<void> {
  if (progress.state.collaborators !== undefined) return
  const { users, teams } = e.collaborators
  if (users.length + teams.length === 0) {
    progress.note({ collaborators: 'none' })
    return
  }
  const [owner = deps.github.owner, repo = e.route.repo] = (progress.state.advisoryRepo ?? '').split('/')
  try {
    await deps.sink.update({ owner, repo, ghsaId: advisory.ghsaId }, { collaborating_users: users, collaborating_teams: teams })
  } catch (err) {
    if (err instanceof AdvisoryPermanentError) {
      // The advisory is filed; a refused collaborator list must not fail the report.
      await progress.record({ collaborators: `refused: ${err.message.slice(0, 200)}` })
      deps.log.warn({ intakeId, ghsaId: advisory.ghsaId }, 'collaborators refused by GitHub')
      return
    }
    throw err
  }
  progress.event('collaborators-added', { detail: `${users.length} user(s), ${teams.length} team(s)` })
  await progress.record({ collaborators: 'done' })
}

async function processFollowUp (intakeId: string, job: ProcessJob, report: OpenedReport, root: ThreadRoot, progress: Progress, deps: ProcessDeps): Promise<ProcessOutcome> {
  await deps.threads.remember(report.messageId, root.intakeId)
  // "It is public now" in a follow-up makes the team notice urgent (SECURITY.md: ASAP).
  const urgent = findDisclosure(`${report.subject}\n${report.text}`).publiclyDisclosed
  await progress.record({ followUpOf: root.intakeId, advisoryRepo: `${root.owner}/${root.repo}`, ...(urgent ? { urgent: '1' } : {}) })
  const advisory = { ghsaId: root.ghsaId, htmlUrl: root.htmlUrl }
  if (progress.state.ghsaId === undefined) {
    const appended = await appendFollowUp(intakeId, new Date(job.data.receivedAt), report, root, followUpDeps(deps))
    await progress.record({ ghsaId: root.ghsaId, advisoryUrl: root.htmlUrl, followUp: appended })
  }
  await deps.events.record(root.intakeId, 'follow-up', { at: job.data.receivedAt, key: intakeId, detail: `${intakeId}: ${progress.state.followUp ?? 'appended'}` })
  await replyToReporter(intakeId, 'ack', report, progress, replyDeps(deps), () => acknowledgement({
    report, intakeId, advisory, from: deps.mail.from, publicUrl: deps.mail.publicUrl, teamFingerprint: deps.keyring.fingerprint, templates: deps.templates
  }), { authenticated: authenticatedSender(report) })
  progress.event('acknowledged', { detail: replyOutcome(progress.state['reply.ack']) })
  await notifyTeam(intakeId, 'received', progress, deps, { advisory, report })
  progress.event('team-notified', { detail: teamChannelsUsed(deps) })
  await progress.record({ outcome: 'follow-up' }, [sealedExpiry(intakeId, deps)])
  if (job.data.replay !== undefined) await deps.quarantine.remove(intakeId)
  deps.log.info({ intakeId, ghsaId: root.ghsaId, root: root.intakeId }, 'follow-up appended to the report\'s advisory')
  return { outcome: 'follow-up', ghsaId: root.ghsaId }
}

async function isDraft (root: ThreadRoot, deps: ProcessDeps): Promise<boolean> {
  return (await deps.sink.read({ owner: root.owner, repo: root.repo, ghsaId: root.ghsaId })).state === 'draft'
}

function followUpDeps (deps: ProcessDeps) {
  return {
    redis: deps.redis,
    prefix: deps.prefix,
    sink: deps.sink,
    progress: deps.progress,
    threads: deps.threads,
    sealKey: deps.sealKey,
    ownDomain: deps.mail.from.includes('@') ? (deps.mail.from.split('@').pop() ?? '').replace(/>.*$/, '').toLowerCase() : '',
    defaultOwner: deps.github.owner,
    quarantined: async (id: string) => await deps.quarantine.get(id) !== undefined,
    log: deps.log
  }
}

/** Where this report's advisory is: the routed repository, recorded before the POST. */
function advisoryRepo (progress: Progress, deps: ProcessDeps): { owner: string, repo: string } {
  const [owner, repo] = (progress.state.advisoryRepo ?? '').split('/')
  return owner !== undefined && owner !== '' && repo !== undefined ? { owner, repo } : deps.github
}

async function sendKey (intakeId: string, report: OpenedReport, progress: Progress, deps: ProcessDeps): Promise<void> {
  const keys = deps.keys
  if (keys !== undefined) await replyToReporter(intakeId, 'key', report, progress, replyDeps(deps), async () => await keys.build(report, intakeId))
}

async function notifyTeam (intakeId: string, kind: TeamNoticeKind, progress: Progress, deps: ProcessDeps, about: { advisory?: { ghsaId: string, htmlUrl: string }, report?: OpenedReport, quarantined?: string }): Promise<void> {
  const { owner, repo: name } = advisoryRepo(progress, deps)
  const repo = `${owner}/${name}`
  const severity = progress.state.severity
  const flags = {
    encrypted: about.report?.bodyEncrypted ?? about.report?.encrypted ?? false, // the body: an encrypted attachment beside cleartext is not an encrypted report
    signature: (about.report?.signature.state ?? 'unknown') as SignatureState['state'] | 'unknown',
    unverifiedSender: !senderVerified(about.report),
    urgent: progress.state.urgent === '1',
    ...(about.quarantined !== undefined ? { quarantined: about.quarantined } : {}),
    ...ackSuppressed(kind, progress)
  }
  const field = `team.${kind}` as const
  if (deps.team.email !== undefined && progress.state[field] === undefined) {
    await deps.team.mail(teamNotification({
      intakeId,
      to: deps.team.email,
      from: deps.mail.from,
      ...(about.advisory ? { advisory: about.advisory } : {}),
      ...(severity !== undefined ? { severity } : {}),
      repo,
      flags
    }))
    await progress.record({ [field]: new Date().toISOString() })
  }
  const chatField = `chat.${kind}` as const
  if (deps.team.chat !== undefined && progress.state[chatField] === undefined) {
    const marks = [flags.urgent ? 'URGENT (publicly disclosed)' : undefined, flags.unverifiedSender ? 'unverified sender' : undefined, flags.quarantined !== undefined ? 'QUARANTINED' : undefined, flags.ackSuppressed !== undefined ? `no acknowledgement sent (${flags.ackSuppressed})` : undefined].filter((m) => m !== undefined)
    const outcome = await deps.team.chat({
      title: `${flags.urgent ? ':rotating_light: ' : ''}${about.quarantined !== undefined ? 'Vulnerability report quarantined' : 'New vulnerability report'} (${intakeId})`,
      lines: [
        ...(about.advisory !== undefined ? [`Advisory: ${about.advisory.ghsaId}`] : []),
        `Repository: ${repo}`,
        ...(severity !== undefined ? [`Severity: ${severity}`] : []),
        `Encrypted: ${flags.encrypted ? 'yes' : 'no'}`,
        ...(marks.length > 0 ? [`Flags: ${marks.join(', ')}`] : [])
      ],
      ...(about.advisory !== undefined && /^https?:\/\//.test(about.advisory.htmlUrl) ? { url: about.advisory.htmlUrl } : {})
    })
    await progress.record({ [chatField]: `${outcome} ${new Date().toISOString()}` })
  }
}

/** Why the reporter got no acknowledgement (recorded by replyToReporter), for the team's notice of a filed report. */
function ackSuppressed (kind: TeamNoticeKind, progress: Progress): { ackSuppressed?: string } {
  const recorded = progress.state['reply.ack']
  if (kind !== 'received' || recorded === undefined || !recorded.startsWith('suppressed: ')) return {}
  return { ackSuppressed: recorded.slice('suppressed: '.length) }
}

/**
 * Proven senders may use the reserved share of the acknowledgement budget: a DMARC pass
 * the provider reported (meta.dmarcPass), or a signature by a key on record for From.
 * Either proves the From domain (or address) only, so the reply must go there: a
 * Reply-To elsewhere is not authenticated.
 */
function authenticatedSender (report: OpenedReport, meta?: InboundMeta): boolean {
  if (!senderVerified(report) && meta?.dmarcPass !== true) return false
  const domain = (a: { address: string } | undefined) => a?.address.slice(a.address.lastIndexOf('@') + 1).toLowerCase()
  return report.replyTo === undefined || domain(report.replyTo) === domain(report.from)
}

/**
 * A valid signature proves who sent the mail only when the key was already on record
 * for that address: a key that arrives in the same message (Autocrypt, attachment)
 * could have been made by whoever forged the From.
 */
function senderVerified (report: OpenedReport | undefined): boolean {
  return report?.signature.state === 'verified' && report.signature.keySource === 'known'
}

async function quarantineUnreadable (intakeId: string, job: ProcessJob, raw: Buffer, err: ReportError, progress: Progress, deps: ProcessDeps): Promise<void> {
  await deps.quarantine.add({ intakeId, code: err.code, reason: err.message, source: job.data.source, attempts: 1 })
  progress.event('quarantined', { detail: err.code })
  deps.log.warn({ intakeId, code: err.code }, 'report quarantined')
  await notifyTeam(intakeId, 'quarantined', progress, deps, { quarantined: `${err.code}: ${err.message}` })
  // Outer headers are not encrypted, so we can still thread a reply and apply RFC 3834.
  const outer = await outerHeaders(raw)
  if (outer === undefined) return
  await replyToReporter(intakeId, 'unreadable', outer, progress, replyDeps(deps), () => couldNotDecrypt({
    report: outer, intakeId, from: deps.mail.from, publicUrl: deps.mail.publicUrl, teamFingerprint: deps.keyring.fingerprint, templates: deps.templates
  }))
}

/**
 * Called by the worker when a job has failed for good (last attempt used, or a
 * permanent error such as GitHub's 422): keep the report and tell the team.
 */
export async function quarantineFailed (job: ProcessJob & { attemptsMade: number, processedOn?: number | undefined }, message: string, deps: ProcessDeps, code = 'failed'): Promise<void> {
  const { intakeId, source } = job.data
  const existing = await deps.quarantine.get(intakeId)
  // Unreadable reports were quarantined (with a precise code) during this very attempt,
  // and the worker calls this twice for a final failure (in the run, then on `failed`).
  const alreadyThisRun = existing !== undefined && Date.parse(existing.at) >= (job.processedOn ?? Infinity)
  if (!alreadyThisRun) {
    const attempts = Math.max(job.attemptsMade, 1)
    await deps.quarantine.add({ intakeId, code, reason: `failed after ${attempts} attempt(s): ${message}`, source, attempts })
    await deps.events.record(intakeId, 'quarantined', { detail: code })
    deps.log.error({ intakeId, attempts }, 'report quarantined after a final failure')
  }
  const progress = await deps.progress.open(intakeId)
  await notifyTeam(intakeId, 'quarantined', progress, deps, { quarantined: `processing failed: ${message}` })
}

/** The sealed original is kept SEALED_TTL_DAYS once its report is filed. */
function sealedExpiry (intakeId: string, deps: ProcessDeps): RedisCommand {
  return ['expire', gatewayKeys(deps.prefix).sealed(intakeId), deps.sealedTtlSeconds]
}

/** A reply's recorded outcome without its Message-ID: "sent", or why it was not. */
function replyOutcome (recorded: string | undefined): string {
  if (recorded === undefined) return 'not sent'
  return recorded.startsWith('suppressed: ') ? recorded : 'sent'
}

function teamChannelsUsed (deps: ProcessDeps): string {
  const used = [deps.team.email !== undefined ? 'e-mail' : undefined, deps.team.chat !== undefined ? 'chat' : undefined].filter((c) => c !== undefined)
  return used.length === 0 ? 'no team channel configured' : used.join(', ')
}
