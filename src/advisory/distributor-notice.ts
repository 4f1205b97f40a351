// SECURITY.md's advance notice to the Private Distributors (`advisory notify-distributors`).
// Each distributor gets a message of its own, PGP/MIME-encrypted to its key (and to the
// team key, so the team can read what it sent) and signed with the team key. One without
// a usable key is refused by name: a notice is never sent in clear. The Subject travels
// in clear, so it carries the GHSA id only (templates.ts enforces it for edited
// templates). Every notice sent is a `distributor-notice` event keyed by a hash of the
// address (never the address), so a second run sends only to those not yet notified.
import { createHash, randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Octokit } from '@octokit/rest'
import type { Redis } from 'ioredis'
import { pino } from 'pino'
import type { Config } from '../config.js'
import { createLogger } from '../log.js'
import { headerText, messageId, addressOf, type MailMessage } from '../mail/messages.js'
import { outgoingMail } from '../mail/outgoing.js'
import { loadTemplates, TemplateError, type Templates } from '../mail/templates.js'
import { configuredMailer } from '../mail/transport.js'
import { DEV_SECRET_KEY_FILE, loadWorkerKeyring } from '../pgp/team-key.js'
import type { TeamKeyring } from '../pgp/types.js'
import { gatewayKeys } from '../queue/jobs.js'
import type { ReportEvent, ReportEvents } from '../store/events.js'
import type { ReportProgress } from '../store/progress.js'
import { DistributorsError, loadDistributors, type Distributor } from './distributors.js'
import { readAdvisoryOrReason, type RepositoryAdvisory } from './github-advisory.js'
import { NO_GITHUB_CREDENTIALS } from './github-client.js'
import { formatReleaseDay } from './release-day.js'

export interface NotifyDeps {
  config: Config
  redis: Redis
  events: ReportEvents
  octokit: Octokit | undefined
  out: (s: string) => void
}

export interface NoticeAdvisory {
  ghsaId: string
  intakeId: string
  owner: string
  repo: string
  state: ReportProgress
}

/** The advisory facts a notice carries: ours and GitHub's, never the report's text. */
interface NoticeFacts {
  ghsaId: string
  cveId: string
  repository: string
  summary: string
  severity: string
  affected: string
  releaseDay: string
  advisoryUrl: string
}

type Row =
  | { distributor: Distributor & { key: NonNullable<Distributor['key']> }, action: 'send', eventKey: string, nth: number }
  | { distributor: Distributor, action: 'already', last: ReportEvent }
  | { distributor: Distributor, action: 'refused', reason: string }

const KIND = 'distributor-notice'
/** Two runs at once would both see "not yet notified". */
const LOCK_MS = 10 * 60_000
const RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

/** The whole command: exit 0 when every distributor on the list has been notified (now or before). */
export async function notifyDistributors (deps: NotifyDeps, advisory: NoticeAdvisory, opts: { dryRun: boolean, resend: boolean, now?: Date }): Promise<number> {
  const { config, out } = deps
  const now = opts.now ?? new Date()
  const ready = await preconditions(deps, advisory, now)
  if (typeof ready === 'string') {
    out(ready.endsWith('\n') ? ready : `${ready}\n`)
    return 1
  }
  const { distributors, templates, facts } = ready
  const rows = plan(distributors, await deps.events.list(advisory.intakeId), advisory.state.releaseAt as string, opts.resend)
  const keyring = await teamKeyring(config)
  out(`${advisory.ghsaId}  ${facts.repository}  release day ${facts.releaseDay}${opts.dryRun ? '  (dry run: nothing is sent)' : ''}\n`)
  out(typeof keyring === 'string' ? `  ${keyring}\n` : `  signed with the team key ${keyring.fingerprint}\n`)
  if (opts.dryRun || typeof keyring === 'string') {
    for (const row of rows) out(`  ${rowLine(row, opts.dryRun ? 'would send' : 'not sent')}\n`)
    if (opts.dryRun) preview(out, templates, facts, config, rows)
    return typeof keyring === 'string' || rows.some((r) => r.action === 'refused') ? 1 : 0
  }
  return await withLock(deps.redis, config.queuePrefix, advisory.intakeId, async () => await send(deps, advisory, { rows, keyring, templates, facts }), () => {
    out(`another notify-distributors run for ${advisory.ghsaId} is under way: try again once it has finished\n`)
    return 1
  })
}

/** Everything that must hold before anyone is told anything; a string says what does not. */
async function preconditions (deps: NotifyDeps, advisory: NoticeAdvisory, now: Date): Promise<string | { distributors: Distributor[], templates: Templates, facts: NoticeFacts }> {
  const { config, octokit } = deps
  if (config.distributorsFile === undefined) return 'DISTRIBUTORS_FILE is not set: there is no distributor list to notify'
  let distributors: Distributor[]
  try {
    distributors = await loadDistributors(config.distributorsFile, now)
  } catch (err) {
    if (err instanceof DistributorsError) return `DISTRIBUTORS_FILE: ${err.message}`
    throw err
  }
  if (distributors.length === 0) return 'the distributor list (DISTRIBUTORS_FILE) is empty: nobody to notify'
  const releaseAt = advisory.state.releaseAt
  if (releaseAt === undefined || releaseAt === '') return `the release day of ${advisory.ghsaId} is not set: run \`npm run intake -- advisory schedule ${advisory.ghsaId}\` first (distributors need the day to plan)`
  const releaseTime = Date.parse(releaseAt)
  if (Number.isNaN(releaseTime)) return `the release day of ${advisory.ghsaId} is not a date: set it again with \`advisory schedule\``
  if (releaseTime <= now.getTime()) return `the release day of ${advisory.ghsaId} (${formatReleaseDay(releaseAt)}) has passed: set a new one with \`advisory schedule\``
  let templates: Templates
  try {
    templates = loadTemplates(config.templatesDir)
  } catch (err) {
    if (err instanceof TemplateError) return `template: ${err.message}`
    throw err
  }
  if (octokit === undefined) return `${NO_GITHUB_CREDENTIALS}: the advisory cannot be read`
  const read = await readAdvisoryOrReason(octokit, advisory)
  if ('reason' in read) return read.reason
  const data = read.advisory
  if (data.state !== 'draft' && data.state !== 'triage') return `${advisory.ghsaId} is ${data.state}: an advance notice is for an advisory not yet published`
  return { distributors, templates, facts: noticeFacts(data, `${advisory.owner}/${advisory.repo}`, releaseAt) }
}

/** Who gets a notice, who had one already (the latest), who is refused. */
function plan (distributors: Distributor[], events: ReportEvent[], releaseAt: string, resend: boolean): Row[] {
  return distributors.map((distributor): Row => {
    if (distributor.key === undefined) return { distributor, action: 'refused', reason: distributor.refused ?? 'no key configured' }
    const key = addressKey(distributor.email)
    const sent = events.filter((e) => e.kind === KIND && (e.key === key || e.key?.startsWith(`${key}.`) === true))
    const last = sent.at(-1)
    if (last !== undefined && !resend) return { distributor, action: 'already', last: { ...last, detail: staleNote(last, releaseAt) } }
    return { distributor: distributor as Distributor & { key: NonNullable<Distributor['key']> }, action: 'send', eventKey: sent.length === 0 ? key : `${key}.${sent.length + 1}`, nth: sent.length + 1 }
  })
}

/** A notice that named another release day than today's needs --resend: say so. */
function staleNote (event: ReportEvent, releaseAt: string): string {
  const day = /release day ([^;\s]+)/.exec(event.detail ?? '')?.[1]
  return day === undefined || day === releaseAt ? '' : `it named the release day ${formatReleaseDay(day)}; --resend sends the new one`
}

async function send (deps: NotifyDeps, advisory: NoticeAdvisory, run: { rows: Row[], keyring: TeamKeyring, templates: Templates, facts: NoticeFacts }): Promise<number> {
  const { config, out } = deps
  const quiet = createLogger({ level: 'warn', production: config.production, destination: pino.destination(2) })
  const mailer = configuredMailer(config, quiet)
  const outgoing = outgoingMail(mailer, run.keyring)
  const count = { sent: 0, already: 0, refused: 0, failed: 0 }
  try {
    for (const row of run.rows) {
      if (row.action !== 'send') {
        count[row.action]++
        out(`  ${rowLine(row, '')}\n`)
        continue
      }
      const { distributor } = row
      const message = distributorNotice({ templates: run.templates, facts: run.facts, distributor, from: config.mailFrom, securityEmail: config.securityEmail, intakeId: advisory.intakeId, nth: row.nth })
      let where: string
      try {
        // encryptTo is never empty here: outgoingMail would otherwise only sign.
        const sent = await outgoing.send(message, { encryptTo: [distributor.key] })
        if (!sent.encrypted) throw new Error('not encrypted')
        where = sent.where === 'smtp' ? 'sent' : 'written to the outbox (no SMTP_URL)'
      } catch (err) {
        count.failed++
        out(`  FAILED      ${who(distributor)}: ${sendError(err)}\n`)
        continue
      }
      count.sent++
      await deps.events.record(advisory.intakeId, KIND, {
        key: row.eventKey,
        detail: `${distributor.name}; key ${distributor.fingerprint ?? ''}; release day ${advisory.state.releaseAt ?? ''}; ${where}${row.nth > 1 ? ` (notice ${row.nth})` : ''}`
      })
      out(`  ${row.nth > 1 ? 'resent' : 'sent'}        ${who(distributor)}, encrypted to ${distributor.fingerprint ?? ''}${where === 'sent' ? '' : `, ${where}`}\n`)
    }
  } finally {
    mailer.close()
  }
  out(`${count.sent} sent, ${count.already} already notified, ${count.refused} refused, ${count.failed} failed\n`)
  if (count.refused > 0) out('Refused distributors get nothing until DISTRIBUTORS_FILE gives them a usable key; run the command again then.\n')
  if (count.failed > 0) out('Run the command again to retry the failed ones (those notified are not sent twice).\n')
  return count.refused + count.failed > 0 ? 1 : 0
}

function distributorNotice (input: { templates: Templates, facts: NoticeFacts, distributor: Distributor, from: string, securityEmail: string, intakeId: string, nth: number }): MailMessage {
  const { facts, distributor } = input
  const rendered = input.templates.render('distributor-notice', { ...facts, distributorName: distributor.name, securityEmail: input.securityEmail })
  const kind = `distributor-${addressKey(distributor.email)}${input.nth > 1 ? `-${input.nth}` : ''}`
  return {
    from: input.from,
    to: { name: headerText(distributor.name, 100), address: distributor.email },
    envelope: { from: addressOf(input.from), to: [distributor.email] },
    subject: headerText(rendered.subject ?? `[embargoed] Advance notice ${facts.ghsaId}`, 200),
    messageId: messageId(kind, input.intakeId, input.from),
    // Sent by an operator's command, not in answer to anything: generated, not a reply.
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
    text: rendered.text
  }
}

function noticeFacts (advisory: RepositoryAdvisory, repository: string, releaseAt: string): NoticeFacts {
  return {
    ghsaId: headerText(advisory.ghsa_id, 40),
    cveId: advisory.cve_id == null || advisory.cve_id === '' ? 'not yet assigned' : headerText(advisory.cve_id, 40),
    repository: headerText(repository, 200),
    summary: headerText(advisory.summary, 1024),
    severity: severityText(advisory),
    affected: affectedText(advisory.vulnerabilities),
    releaseDay: formatReleaseDay(releaseAt),
    advisoryUrl: /^https:\/\//.test(advisory.html_url) ? headerText(advisory.html_url, 300) : ''
  }
}

function severityText (advisory: RepositoryAdvisory): string {
  const scores = [advisory.cvss, advisory.cvss_severities?.cvss_v3, advisory.cvss_severities?.cvss_v4]
  const vectors = new Map<string, number | null>()
  for (const cvss of scores) if (cvss?.vector_string != null && cvss.vector_string !== '') vectors.set(headerText(cvss.vector_string, 200), cvss.score)
  const rated = [...vectors].map(([vector, score]) => `${vector}${score == null ? '' : `, score ${score}`}`)
  return `${advisory.severity ?? 'not yet rated'}${rated.length === 0 ? '' : ` (${rated.join('; ')})`}`
}

const VULNERABILITIES_MAX = 20

function affectedText (vulnerabilities: RepositoryAdvisory['vulnerabilities']): string {
  const list = (vulnerabilities ?? []).slice(0, VULNERABILITIES_MAX).map((v) => {
    const pkg = v.package == null ? 'a package not named yet' : `${v.package.name ?? 'a package not named yet'} (${v.package.ecosystem})`
    return headerText(`${pkg}: ${v.vulnerable_version_range ?? 'versions not given'}, fixed in ${v.patched_versions ?? 'no release yet'}`, 300)
  })
  const more = (vulnerabilities ?? []).length - list.length
  if (list.length === 0) return 'not yet listed in the advisory'
  return list.join('; ') + (more > 0 ? `; and ${more} more (see the advisory)` : '')
}

/** The event key of a distributor: distributor addresses are public, but none goes into Redis. */
export function addressKey (email: string): string {
  return createHash('sha256').update(`distributor:${email.toLowerCase()}`).digest('hex').slice(0, 16)
}

/**
 * The worker's keyring, or why it is not available here. A CLI never generates the
 * development key: without a configured key it uses the one the worker made, if any.
 */
async function teamKeyring (config: Config): Promise<TeamKeyring | string> {
  const configured = config.pgp.privateKey !== undefined || config.pgp.privateKeyFile !== undefined
  if (!configured && (config.production || !existsSync(join(config.keysDir, DEV_SECRET_KEY_FILE)))) {
    return 'the team private key is not available here: set PGP_PRIVATE_KEY_FILE (or PGP_PRIVATE_KEY), or run this where the worker runs; notices are signed with it'
  }
  try {
    return await loadWorkerKeyring(config, createLogger({ level: 'warn', production: config.production, destination: pino.destination(2) }))
  } catch (err) {
    return `the team private key could not be loaded: ${(err as Error).message.slice(0, 300)}`
  }
}

function rowLine (row: Row, sendWord: string): string {
  switch (row.action) {
    case 'send': return `${sendWord.padEnd(11)} ${who(row.distributor)}, encrypted to ${row.distributor.fingerprint ?? ''}${row.nth > 1 ? ` (notice ${row.nth})` : ''}`
    case 'already': return `skipped     ${who(row.distributor)}: already notified at ${row.last.at}${row.last.detail === '' || row.last.detail === undefined ? '' : ` (${row.last.detail})`}`
    case 'refused': return `REFUSED     ${who(row.distributor)}: ${row.reason}`
  }
}

function who (distributor: Distributor): string {
  return `${distributor.name} <${distributor.email}>`
}

function preview (out: (s: string) => void, templates: Templates, facts: NoticeFacts, config: Config, rows: Row[]): void {
  const first = rows.find((r) => r.action === 'send') ?? rows[0]
  if (first === undefined) return
  const message = distributorNotice({ templates, facts, distributor: first.distributor, from: config.mailFrom, securityEmail: config.securityEmail, intakeId: 'preview', nth: 1 })
  out(`\n--- the notice as ${first.distributor.name} would get it (encrypted; only the Subject is in clear) ---\nSubject: ${message.subject}\n\n${message.text}`)
}

/** SMTP's own words name the recipient at most: fine for the operator's terminal, capped. */
function sendError (err: unknown): string {
  const e = err as { responseCode?: number, code?: string, message?: string }
  const code = e.responseCode !== undefined ? `SMTP ${e.responseCode}` : e.code ?? 'error'
  return `${code}: ${headerText(e.message ?? '', 200)}`
}

async function withLock<T> (redis: Redis, prefix: string, intakeId: string, fn: () => Promise<T>, busy: () => T): Promise<T> {
  const key = gatewayKeys(prefix).lock(`notify-${intakeId}`)
  const token = randomUUID()
  if (await redis.set(key, token, 'PX', LOCK_MS, 'NX') === null) return busy()
  try {
    return await fn()
  } finally {
    await redis.eval(RELEASE_LOCK, 1, key, token).catch(() => {})
  }
}
