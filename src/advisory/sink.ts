// Where advisories go: GitHub (draft repository security advisories) or, without
// GitHub credentials, a local outbox directory. Both are idempotent per intake id.
//
// Request bodies carry report text. Errors thrown from here are written by us from the
// HTTP status and GitHub's error field names only: they end up in logs and queue
// failure reasons, so Octokit's RequestError (which carries request.body and a message
// that echoes GitHub's `errors[].value`) is never rethrown or attached as a cause.

import { randomUUID } from 'node:crypto'
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Octokit, RestEndpointMethodTypes } from '@octokit/rest'
import { intakeMarker } from './marker.js'
import type { Log } from './github-client.js'

export type AdvisoryCreateBody = {
  summary: string
  description: string
  vulnerabilities: Array<{
    package: { ecosystem: string, name?: string | null }
    vulnerable_version_range?: string | null
    patched_versions?: string | null
    vulnerable_functions?: string[] | null
  }>
  cwe_ids?: string[] | null
  credits?: Array<{ login: string, type: string }> | null
  severity?: 'critical' | 'high' | 'medium' | 'low'
  cvss_vector_string?: string | null
  start_private_fork?: boolean
  cve_id?: string | null
}

interface AdvisoryRef {
  ghsaId: string
  htmlUrl: string
  /** false when an advisory for this intake already existed */
  created: boolean
}

interface AdvisoryRequest { owner: string, repo: string, intakeId: string, body: AdvisoryCreateBody }

interface CreateOptions {
  /**
   * Look for an advisory carrying this intake's marker before creating one (default
   * true). Pass false only when no earlier attempt can have posted it (no "pending"
   * flag recorded), to save the list requests on the common path.
   */
  lookupFirst?: boolean
}

/** The fields of PATCH .../security-advisories/{ghsa_id} the gateway sets. Arrays replace, not merge. */
interface AdvisoryUpdateBody {
  description?: string
  collaborating_users?: string[]
  collaborating_teams?: string[]
}

interface AdvisoryLocation { owner: string, repo: string, ghsaId: string }

export interface AdvisorySink {
  create (req: AdvisoryRequest, opts?: CreateOptions): Promise<AdvisoryRef>
  /** The advisory's current description and state (re-read before every append). */
  read (where: AdvisoryLocation): Promise<{ description: string, state: string }>
  update (where: AdvisoryLocation, body: AdvisoryUpdateBody): Promise<void>
}

/** Retrying cannot help (validation, missing repo, no permission): fail the job. */
export class AdvisoryPermanentError extends Error {
  readonly status: number | undefined
  constructor (message: string, status?: number) {
    super(message)
    this.name = 'AdvisoryPermanentError'
    this.status = status
  }
}

/** Worth retrying later (5xx, network, rate limit). `retryAfterMs` when GitHub said so. */
export class AdvisoryTransientError extends Error {
  readonly status: number | undefined
  readonly retryAfterMs: number | undefined
  constructor (message: string, status?: number, retryAfterMs?: number) {
    super(message)
    this.name = 'AdvisoryTransientError'
    this.status = status
    this.retryAfterMs = retryAfterMs
  }
}

type CreateParams = RestEndpointMethodTypes['securityAdvisories']['createRepositoryAdvisory']['parameters']
type ListedAdvisory = { ghsa_id: string, html_url: string, description: string | null }

export function githubSink (octokit: Octokit, log: Log): AdvisorySink {
  return {
    async create (req, opts = {}) {
      const { owner, repo, intakeId, body } = req
      const where = `${owner}/${repo}`
      // Without the marker the crash-recovery lookup could never find this advisory.
      if (!body.description.includes(intakeMarker(intakeId))) {
        throw new AdvisoryPermanentError(`advisory body for intake ${intakeId} lacks its intake marker`)
      }
      if (opts.lookupFirst !== false) {
        const existing = await guarded(`look up advisory in ${where}`, () => findAdvisoryByIntake(octokit, req))
        if (existing !== null) {
          log.info({ intakeId, ghsaId: existing.ghsaId, repo: where }, 'advisory already exists for this intake')
          return existing
        }
      }
      const res = await guarded(`create advisory in ${where}`, () =>
        octokit.rest.securityAdvisories.createRepositoryAdvisory({
          ...body,
          owner,
          repo,
          // No in-process retry of the POST: a 5xx may come after GitHub created the
          // advisory. The job retry does the lookup first and so cannot duplicate it.
          request: { retries: 0 }
        } as CreateParams))
      // At debug: the report's outcome line names the advisory.
      log.debug({ intakeId, ghsaId: res.data.ghsa_id, repo: where }, 'advisory created')
      return { ghsaId: res.data.ghsa_id, htmlUrl: res.data.html_url, created: true }
    },
    async read ({ owner, repo, ghsaId }) {
      const res = await guarded(`read advisory ${ghsaId} in ${owner}/${repo}`, () =>
        octokit.rest.securityAdvisories.getRepositoryAdvisory({ owner, repo, ghsa_id: ghsaId }))
      return { description: res.data.description ?? '', state: res.data.state }
    },
    async update ({ owner, repo, ghsaId }, body) {
      // Same body, same result: a retried PATCH cannot duplicate anything.
      await guarded(`update advisory ${ghsaId} in ${owner}/${repo}`, () =>
        octokit.rest.securityAdvisories.updateRepositoryAdvisory({ owner, repo, ghsa_id: ghsaId, ...body }))
      log.info({ ghsaId, repo: `${owner}/${repo}`, fields: Object.keys(body) }, 'advisory updated')
    }
  }
}

/**
 * Finds the draft advisory whose description starts with the intake marker, newest
 * first, stopping at the first hit. Only drafts, and only at the start: advisories in
 * `triage` are written by outsiders (private vulnerability reporting), who could
 * otherwise plant a marker and capture a report's retry.
 */
async function findAdvisoryByIntake (octokit: Octokit, req: { owner: string, repo: string, intakeId: string }): Promise<AdvisoryRef | null> {
  const marker = intakeMarker(req.intakeId)
  for (const state of ['draft'] as const) {
    const hits = await octokit.paginate(
      octokit.rest.securityAdvisories.listRepositoryAdvisories,
      { owner: req.owner, repo: req.repo, state, sort: 'created', direction: 'desc', per_page: 100 },
      (res, done) => {
        const hit = (res.data as ListedAdvisory[]).find(a => a.description?.startsWith(marker) === true)
        if (hit !== undefined) done()
        return hit === undefined ? [] : [hit]
      })
    const hit = hits[0]
    if (hit !== undefined) return { ghsaId: hit.ghsa_id, htmlUrl: hit.html_url, created: false }
  }
  return null
}

async function guarded<T> (what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    throw toAdvisoryError(what, err)
  }
}

const PERMANENT = new Set([400, 404, 410, 413, 422])

// Builds a fresh error from status, GitHub's top-level message and error field names.
// 401 stays transient on purpose: a rotated or fixed token lets the retry succeed.
export function toAdvisoryError (what: string, err: unknown): AdvisoryPermanentError | AdvisoryTransientError {
  const e = (err ?? {}) as { status?: unknown, response?: { headers?: Record<string, string | undefined>, data?: unknown } }
  if (e.response === undefined) {
    return new AdvisoryTransientError(`GitHub ${what} failed: network error (${errorCode(err)})`)
  }
  const status = typeof e.status === 'number' ? e.status : undefined
  const data = (typeof e.response.data === 'object' && e.response.data !== null ? e.response.data : {}) as { message?: unknown, errors?: unknown }
  const ghMessage = typeof data.message === 'string' ? data.message.split('\n')[0]?.slice(0, 200) : undefined
  const fields = Array.isArray(data.errors) ? data.errors.map(errorField) : []
  const message = `GitHub ${what} failed: ${status ?? 'no status'}` +
    (ghMessage === undefined ? '' : ` ${ghMessage}`) +
    (fields.length === 0 ? '' : ` [${fields.join(', ')}]`)
  const headers = e.response.headers ?? {}
  const rateLimited = status === 429 || (status === 403 && (
    headers['retry-after'] !== undefined || headers['x-ratelimit-remaining'] === '0' || /rate limit/i.test(ghMessage ?? '')))
  if (rateLimited) return new AdvisoryTransientError(message, status, retryAfterMs(headers))
  if (status !== undefined && (PERMANENT.has(status) || status === 403)) return new AdvisoryPermanentError(message, status)
  return new AdvisoryTransientError(message, status)
}

// Octokit wraps fetch's TypeError, which wraps the system error: ECONNREFUSED etc.
function errorCode (err: unknown): string {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string') return code
  }
  const name = (err as { name?: unknown } | null)?.name
  return typeof name === 'string' ? name : 'unknown'
}

// Field and code only: GitHub's per-error `value` and `message` can quote what we sent.
function errorField (item: unknown): string {
  if (typeof item === 'string') {
    // GitHub's plain-string form for unknown keys names only our own key.
    const key = /^"([\w.-]{1,64})" is not a permitted key/.exec(item)?.[1]
    return key === undefined ? 'unstructured' : `${key}:not_permitted`
  }
  if (typeof item !== 'object' || item === null) return 'unstructured'
  const { field, code } = item as { field?: unknown, code?: unknown }
  return [field, code].filter(v => typeof v === 'string' && v !== '').join(':') || 'unnamed'
}

function retryAfterMs (headers: Record<string, string | undefined>): number | undefined {
  const after = Number(headers['retry-after'])
  if (after > 0) return after * 1000
  const reset = Number(headers['x-ratelimit-reset'])
  return reset > 0 ? Math.max(0, reset * 1000 - Date.now()) : undefined
}

/**
 * Writes each advisory request body to `<outboxDir>/advisories/<intakeId>.json` (0600),
 * for running without GitHub. An existing file means this intake was done already.
 */
export function outboxSink (outboxDir: string): AdvisorySink {
  const dir = resolve(outboxDir, 'advisories')
  return {
    async create ({ intakeId, body }) {
      // The id becomes a file name: refuse anything that could leave the directory.
      if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(intakeId)) {
        throw new AdvisoryPermanentError(`intake id ${JSON.stringify(intakeId.slice(0, 64))} is not a safe file name`)
      }
      const file = join(dir, `${intakeId}.json`)
      const ref = { ghsaId: `LOCAL-${intakeId}`, htmlUrl: pathToFileURL(file).href }
      if (await exists(file)) return { ...ref, created: false }
      await mkdir(dir, { recursive: true, mode: 0o700 })
      // Temp file then rename: a reader (or a crash) never sees a half-written advisory.
      const tmp = join(dir, `.${intakeId}.${randomUUID()}.tmp`)
      try {
        await writeFile(tmp, JSON.stringify(body, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
        await rename(tmp, file)
      } catch (err) {
        await rm(tmp, { force: true })
        throw err
      }
      return { ...ref, created: true }
    },
    async read ({ ghsaId }) {
      const body = JSON.parse(await readFile(fileOf(ghsaId), 'utf8')) as { description?: string, state?: string }
      return { description: body.description ?? '', state: body.state ?? 'draft' }
    },
    async update ({ ghsaId }, patch) {
      const file = fileOf(ghsaId)
      const body = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
      const tmp = join(dir, `.${ghsaId}.${randomUUID()}.tmp`)
      try {
        await writeFile(tmp, JSON.stringify({ ...body, ...patch }, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
        await rename(tmp, file)
      } catch (err) {
        await rm(tmp, { force: true })
        throw err
      }
    }
  }
  function fileOf (ghsaId: string): string {
    const id = /^LOCAL-([A-Za-z0-9_-][A-Za-z0-9._-]*)$/.exec(ghsaId)?.[1]
    if (id === undefined) throw new AdvisoryPermanentError(`${ghsaId.slice(0, 64)} is not an outbox advisory`)
    return join(dir, `${id}.json`)
  }
}

async function exists (file: string): Promise<boolean> {
  try {
    await stat(file)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
}
