// Follow-ups: a reply to a report or to its acknowledgement joins the advisory the
// report opened (a section appended with updateRepositoryAdvisory) and never opens a
// second one.
//
// Finding the thread: our acknowledgement's Message-ID names the intake id; a report's
// own Message-ID is looked up in an index keyed by its SHA-256 (no Message-ID, which
// can carry a name or address, is stored in the clear); the subject can quote the
// intake reference or the GHSA id.
//
// Appending: one writer per advisory at a time (a Redis lock), the description re-read
// inside the lock, and a marker per follow-up intake id so a retried append is a no-op.
import { createHmac, randomUUID, type KeyObject } from 'node:crypto'
import type { Redis } from 'ioredis'
import { followUpMarker, followUpSection } from '../advisory/follow-up-section.js'
import type { AdvisorySink } from '../advisory/sink.js'
import { threadRefs } from '../triage/thread.js'
import { findDisclosure } from '../triage/disclosure.js'
import type { ThreadIndex } from './thread-index.js'
import type { Logger } from '../log.js'
import type { ProgressStore } from './state.js'
import { gatewayKeys } from '../queue/jobs.js'
import type { OpenedReport } from './types.js'

const LOCK_MS = 30_000
const WAIT_MS = 20_000

export interface ThreadRoot {
  intakeId: string
  owner: string
  repo: string
  ghsaId: string
  htmlUrl: string
  senderHash?: string
}

/** A follow-up whose report is still being filed: retry the job later. */
export class ThreadPendingError extends Error {
  constructor (what: string) {
    super(`follow-up waits for ${what}; retrying later`)
    this.name = 'ThreadPendingError'
  }
}


export interface FollowUpDeps {
  redis: Redis
  prefix: string
  sink: AdvisorySink
  progress: ProgressStore
  threads: ThreadIndex
  sealKey: KeyObject
  ownDomain: string
  defaultOwner: string
  /** Quarantined reports (unreadable, spam holds, key requests) have no advisory to join. */
  quarantined: (intakeId: string) => Promise<boolean>
  log: Logger
}

/**
 * The earlier report this message continues, if any. Candidates in order: our own
 * Message-IDs and intake references, then the report Message-ID index, then GHSA ids.
 * Throws ThreadPendingError when the report it answers is known but not filed yet.
 */
export async function findThreadRoot (report: Pick<OpenedReport, 'headers' | 'subject' | 'messageId'>, selfIntakeId: string, deps: FollowUpDeps): Promise<ThreadRoot | undefined> {
  const refs = threadRefs({
    ...optional('inReplyTo', report.headers.get('in-reply-to')),
    ...optional('references', report.headers.get('references')),
    subject: report.subject,
    ownDomain: deps.ownDomain
  })
  const ids: string[] = [...refs.intakeIds]
  for (const messageId of refs.messageIds) {
    const id = await deps.threads.byMessageId(messageId)
    if (id !== null) ids.push(id)
  }
  for (const ghsa of refs.ghsaIds) {
    const id = await deps.threads.byGhsa(ghsa)
    if (id !== null) ids.push(id)
  }
  // A report that is queued or being filed (a reply can overtake it): wait for it a while.
  const until = Date.now() + WAIT_MS
  for (;;) {
    let pending: string | undefined
    for (const candidate of new Set(ids)) {
      if (candidate === selfIntakeId) continue
      const found = await rootOf(candidate, deps)
      if (found === 'pending') pending ??= candidate
      else if (found !== undefined) return found
    }
    if (pending === undefined) return undefined
    if (Date.now() > until) throw new ThreadPendingError(`report ${pending} to be filed`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function rootOf (candidate: string, deps: FollowUpDeps): Promise<ThreadRoot | 'pending' | undefined> {
  let state = await deps.progress.get(candidate)
  const rootId = state.followUpOf ?? candidate
  if (state.followUpOf !== undefined) state = await deps.progress.get(rootId)
  if (state.ghsaId !== undefined && state.advisoryRepo !== undefined) {
    const [owner = deps.defaultOwner, repo = ''] = state.advisoryRepo.split('/')
    return { intakeId: rootId, owner, repo, ghsaId: state.ghsaId, htmlUrl: state.advisoryUrl ?? '', ...optional('senderHash', state.senderHash) }
  }
  const ended = state.outcome !== undefined || state['team.quarantined'] !== undefined || state['reply.unreadable'] !== undefined
  if (ended || await deps.quarantined(rootId)) return undefined
  // Not started yet, or under way: only a real intake (its sealed original is stored)
  // is waited for, so a made-up reference in a subject cannot stall a report.
  if (Object.keys(state).length > 0 || await deps.redis.exists(gatewayKeys(deps.prefix).sealed(rootId)) === 1) return 'pending'
  return undefined
}

/** Keyed hash of a sender address: equal senders compare equal, the address is not stored. */
export function senderHash (sealKey: KeyObject, address: string | undefined): string | undefined {
  if (address === undefined) return undefined
  const key = sealKey.export({ format: 'der', type: 'pkcs8' })
  return createHmac('sha256', key).update(`sender\0${address.trim().toLowerCase()}`).digest('hex')
}

/** Appends the follow-up's section once; returns false when there was no room left. */
export async function appendFollowUp (intakeId: string, receivedAt: Date, report: OpenedReport, root: ThreadRoot, deps: FollowUpDeps): Promise<boolean> {
  const where = { owner: root.owner, repo: root.repo, ghsaId: root.ghsaId }
  return await withAdvisoryLock(deps.redis, `${deps.prefix}:gw:advlock:${root.ghsaId}`, async () => {
    const current = await deps.sink.description(where)
    if (current.includes(followUpMarker(intakeId))) return true
    const mine = senderHash(deps.sealKey, report.from?.address)
    const d = findDisclosure(`${report.subject}\n${report.text}`)
    const disclosure = d.publiclyDisclosed ? `${d.exploited ? 'exploited / 0-day' : 'publicly disclosed'} (${d.reasons.join(', ')})` : undefined
    const section = followUpSection(report, { intakeId, receivedAt, sameSender: mine !== undefined && mine === root.senderHash, ...(disclosure === undefined ? {} : { disclosure }) }, current)
    if (section === undefined) {
      deps.log.warn({ intakeId, ghsaId: root.ghsaId }, 'follow-up not appended: the advisory description is at GitHub\'s limit')
      return false
    }
    await deps.sink.update(where, { description: current + section })
    return true
  })
}

const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

// Waits its turn (follow-ups are short), unlike the per-report lock which fails fast.
async function withAdvisoryLock<T> (redis: Redis, key: string, fn: () => Promise<T>): Promise<T> {
  const token = randomUUID()
  const until = Date.now() + WAIT_MS
  while (await redis.set(key, token, 'PX', LOCK_MS, 'NX') === null) {
    if (Date.now() > until) throw new ThreadPendingError('another follow-up to the same advisory')
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(Math.random() * 50)))
  }
  try {
    return await fn()
  } finally {
    await redis.eval(RELEASE, 1, key, token).catch(() => {})
  }
}

function optional<K extends string, V> (key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }
}
