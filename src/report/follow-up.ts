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
import { createHmac, type KeyObject } from 'node:crypto'
import type { Redis } from 'ioredis'
import { followUpMarker, followUpSection } from '../advisory/follow-up-section.js'
import type { AdvisorySink } from '../advisory/sink.js'
import { threadRefs } from '../triage/thread.js'
import { findDisclosure } from '../triage/disclosure.js'
import type { ThreadIndex } from '../store/thread-index.js'
import { withWaitingLock } from '../store/lock.js'
import type { Logger } from '../log.js'
import type { ProgressStore } from '../store/progress.js'
import { gatewayKeys } from '../queue/jobs.js'
import type { OpenedReport } from '../domain/report.js'

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
  let key = hashKeys.get(sealKey)
  if (key === undefined) hashKeys.set(sealKey, key = sealKey.export({ format: 'der', type: 'pkcs8' }))
  return createHmac('sha256', key).update(`sender\0${address.trim().toLowerCase()}`).digest('hex')
}

/** The seal key's bytes as the HMAC key, exported once per key object (each export costs a DER encoding). */
const hashKeys = new WeakMap<KeyObject, Buffer>()

export type AppendOutcome = 'appended' | 'no room' | 'not a draft'

/**
 * Appends the follow-up's section once. Only to a draft: a published advisory's
 * description is public, and its GHSA id (which threads a reply) is known to anyone,
 * so appending there would publish a private follow-up or let a stranger write into
 * the public advisory. The team notice still tells the team.
 */
export async function appendFollowUp (intakeId: string, receivedAt: Date, report: OpenedReport, root: ThreadRoot, deps: FollowUpDeps): Promise<AppendOutcome> {
  const where = { owner: root.owner, repo: root.repo, ghsaId: root.ghsaId }
  const lock = { lockMs: LOCK_MS, waitMs: WAIT_MS, busy: () => new ThreadPendingError('another follow-up to the same advisory') }
  return await withWaitingLock(deps.redis, `${deps.prefix}:gw:advlock:${root.ghsaId}`, lock, async () => {
    const { description: current, state } = await deps.sink.read(where)
    if (current.includes(followUpMarker(intakeId))) return 'appended'
    if (state !== 'draft') {
      deps.log.warn({ intakeId, ghsaId: root.ghsaId, state }, 'follow-up not appended: the advisory is no longer a draft')
      return 'not a draft'
    }
    const mine = senderHash(deps.sealKey, report.from?.address)
    const d = findDisclosure(`${report.subject}\n${report.text}`)
    const disclosure = d.publiclyDisclosed ? `${d.exploited ? 'exploited / 0-day' : 'publicly disclosed'} (${d.reasons.join(', ')})` : undefined
    const section = followUpSection(report, { intakeId, receivedAt, sameSender: mine !== undefined && mine === root.senderHash, ...(disclosure === undefined ? {} : { disclosure }) }, current)
    if (section === undefined) {
      deps.log.warn({ intakeId, ghsaId: root.ghsaId }, 'follow-up not appended: the advisory description is at GitHub\'s limit')
      return 'no room'
    }
    await deps.sink.update(where, { description: current + section })
    return 'appended'
  })
}

function optional<K extends string, V> (key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }
}
