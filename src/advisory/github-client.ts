// The one Octokit factory: retry for transient failures, throttling for GitHub's rate
// limits, and a per-attempt request log. Request bodies carry report text, so nothing
// here logs options or bodies: only method, route template, status and duration.

import { Octokit } from '@octokit/rest'
import { retry } from '@octokit/plugin-retry'
import { throttling } from '@octokit/plugin-throttling'
import { createAppAuth } from '@octokit/auth-app'
import Bottleneck from 'bottleneck'
import { hasGithub, type Config } from '../config.js'
import type { Metrics } from '../ops/metrics.js'

/** A token, or a GitHub App installation (its tokens are minted and renewed by auth-app). */
type GithubAuth = string | { appId: string, privateKey: string, installationId: string }

type LogFn = (obj: object, msg?: string) => void
export interface Log { debug: LogFn, info: LogFn, warn: LogFn, error: LogFn }

export interface GithubClientOptions {
  baseUrl: string
  auth: GithubAuth
  log: Log
  fetch?: typeof fetch
  /** plugin-retry attempts for 5xx/network failures (default 3); 0 turns the plugin off */
  retries?: number
  /** plugin-retry waits (attempt^2 * retryBaseMs) between attempts (default 1000) */
  retryBaseMs?: number
  /** false turns rate-limit handling off, so callers see raw 403/429s (default true) */
  throttle?: boolean
  /** how many times one request may wait out a rate limit before failing (default 3) */
  rateLimitRetries?: number
  /** longer waits (e.g. a primary limit resetting in 40 min) fail instead, so the job
   * is retried later rather than holding a worker slot (default 120) */
  maxRateLimitWaitSeconds?: number
  userAgent?: string
  /** least time between two content-creating requests of this client (default 1000,
   * GitHub's guidance of about one per second); 0 only for local stubs and benchmarks */
  writeIntervalMs?: number
  /** Told of every attempt and every rate limit (metrics); route is the URL template. */
  observe?: GithubObserver
}

interface GithubObserver {
  request: (info: { method: string, route: string, status: number | 'error' }) => void
  rateLimit: (info: { kind: 'primary' | 'secondary', retried: boolean }) => void
}

export function createOctokit (opts: GithubClientOptions): Octokit {
  const { log } = opts
  const rateLimitRetries = opts.rateLimitRetries ?? 3
  const maxWait = opts.maxRateLimitWaitSeconds ?? 120
  const retries = opts.retries ?? 3
  // requestLogging goes first so its wrap sits inside retry/throttling: one line per attempt.
  // The wait gate sits innermost too, so every attempt (plugin-retry's, throttling's,
  // a later job's) passes it.
  const throttled = opts.throttle !== false
  const GithubOctokit = throttled
    ? Octokit.plugin(requestLogging(log, opts.observe), waitGate(maxWait), retry, throttling)
    : Octokit.plugin(requestLogging(log, opts.observe), retry, throttling)

  const onLimit = (kind: 'primary' | 'secondary') => (retryAfter: number, options: { method: string, url: string }, _octokit: unknown, retryCount: number) => {
    const willRetry = retryCount < rateLimitRetries && retryAfter <= maxWait
    opts.observe?.rateLimit({ kind, retried: willRetry })
    log.warn({ method: options.method, route: options.url, retryAfter, retryCount, willRetry }, `github ${kind} rate limit`)
    return willRetry
  }

  return new GithubOctokit({
    baseUrl: opts.baseUrl,
    ...(typeof opts.auth === 'string'
      ? { auth: opts.auth }
      : { authStrategy: createAppAuth, auth: { appId: opts.auth.appId, privateKey: opts.auth.privateKey, installationId: Number(opts.auth.installationId) } }),
    userAgent: opts.userAgent ?? 'security-intake-gateway',
    log: octokitLog(log),
    request: opts.fetch === undefined ? {} : { fetch: opts.fetch },
    retry: { enabled: retries > 0, retries, retryAfterBaseValue: opts.retryBaseMs ?? 1000 },
    throttle: !throttled
      ? { enabled: false }
      : {
          onRateLimit: onLimit('primary'),
          onSecondaryRateLimit: onLimit('secondary'),
          // The plugin's own write group is process-global and fixed at 1 s; ours is per client.
          write: new Bottleneck.Group({ id: 'octokit-write', maxConcurrent: 1, minTime: opts.writeIntervalMs ?? 1000 })
        }
  })
}

/**
 * GitHub asks integrations to make requests serially, and when it says wait (403/429
 * with retry-after, or a primary quota at 0) no request may go out until the wait is
 * over. plugin-throttling spaces the *starts* of writes but lets them overlap, delays
 * only the one request that was refused (its queue keeps sending the others), and
 * plugin-retry retries a 429 after 1 s whatever retry-after says. This gate runs this
 * client's requests one at a time, so the next one starts only after the previous answer
 * was seen, and holds them all while a wait lasts.
 */
function waitGate (maxWaitSeconds: number) {
  let blockedUntil = 0
  let tail: Promise<unknown> = Promise.resolve()
  return (octokit: Pick<Octokit, 'hook'>) => {
    octokit.hook.wrap('request', async (request, options) => {
      // GitHub App token requests are made from inside a gated request (auth-app's hook).
      if (/^\/app\//.test(String(options.url))) return await request(options)
      const previous = tail
      let release = () => {}
      tail = new Promise<void>((resolve) => { release = resolve })
      try {
        await previous
        for (let wait = blockedUntil - Date.now(); wait > 0; wait = blockedUntil - Date.now()) {
          // A long wait (a primary quota resetting in 40 min) fails the job for a later
          // retry, as the throttling handler does, instead of holding a worker slot.
          if (wait > maxWaitSeconds * 1000) throw stillLimited(Math.ceil(wait / 1000))
          await new Promise((resolve) => setTimeout(resolve, wait))
        }
        return await request(options)
      } catch (err) {
        const until = waitUntil(err)
        if (until !== undefined) blockedUntil = Math.max(blockedUntil, until)
        throw err
      } finally {
        release()
      }
    })
  }
}

/** Shaped like GitHub's answer, so callers classify it as the rate limit it is. */
function stillLimited (retryAfter: number): Error {
  return Object.assign(new Error('GitHub rate limit: still waiting'), {
    status: 403,
    response: { status: 403, headers: { 'retry-after': String(retryAfter) }, data: { message: 'rate limit wait in progress (client side)' } }
  })
}

function waitUntil (err: unknown): number | undefined {
  const e = err as { status?: unknown, response?: { headers?: Record<string, string | undefined> } }
  if (e.status !== 403 && e.status !== 429) return undefined
  const headers = e.response?.headers ?? {}
  const after = Number(headers['retry-after'])
  if (after > 0) return Date.now() + after * 1000
  const reset = Number(headers['x-ratelimit-reset'])
  if (headers['x-ratelimit-remaining'] === '0' && reset > 0) return reset * 1000
  return undefined
}

/**
 * The route as a bounded label. Octokit hands the hook the template ("/repos/{owner}/
 * {repo}/security-advisories"), except when paginating: then the next page's URL comes
 * from GitHub's Link header, absolute, with an opaque cursor in its query, one new
 * metric series per page fetched. Origin and query are dropped, ids become placeholders.
 */
function routeTemplate (url: string): string {
  const path = url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '').split('?', 1)[0] ?? ''
  return path.split('/').map((segment) =>
    /^\d+$/.test(segment) ? '{id}' : /^ghsa(-[a-z0-9]{4}){3}$/i.test(segment) ? '{ghsa_id}' : segment
  ).join('/').slice(0, 120)
}

function requestLogging (log: Log, observe: GithubObserver | undefined) {
  return (octokit: Pick<Octokit, 'hook'>) => {
    octokit.hook.wrap('request', async (request, options) => {
      const start = performance.now()
      const entry = { method: options.method, route: routeTemplate(options.url) }
      try {
        const res = await request(options)
        log.debug({ ...entry, status: res.status, ms: Math.round(performance.now() - start) }, 'github request')
        observe?.request({ ...entry, status: res.status })
        return res
      } catch (err) {
        const status = (err as { status?: unknown }).status
        log.debug({ ...entry, status, ms: Math.round(performance.now() - start) }, 'github request failed')
        observe?.request({ ...entry, status: typeof status === 'number' ? status : 'error' })
        throw err
      }
    })
  }
}

// @octokit/rest's built-in request-log plugin calls log.debug('request', options), and
// options include the body (report text). Drop debug/info (our hook replaces them) and
// error (its failure lines duplicate ours); forward warnings as plain strings only.
function octokitLog (log: Log) {
  const drop = () => {}
  return {
    debug: drop,
    info: drop,
    error: drop,
    warn: (message: string) => log.warn({ source: 'octokit' }, String(message))
  }
}

/** What the operator's commands say when githubClient gives them nothing. */
export const NO_GITHUB_CREDENTIALS = 'no GitHub credentials configured (GITHUB_TOKEN or a GitHub App)'

/** The configured client (token or GitHub App), or undefined when advisories go to the outbox. */
export function githubClient (config: Config, log: Log, metrics?: Metrics): Octokit | undefined {
  if (!hasGithub(config)) return undefined
  const auth = config.github.token ?? config.github.app
  if (auth === undefined) throw new Error('no GitHub credentials')
  const observe = metrics === undefined
    ? undefined
    : {
        request: (r: { method: string, route: string, status: number | 'error' }) => {
          metrics.githubRequests.inc({ method: r.method, route: r.route, status: String(r.status) })
          if (r.method === 'PATCH' && r.route.includes('/security-advisories/') && typeof r.status === 'number' && r.status < 300) metrics.advisories.inc({ action: 'updated' })
        },
        rateLimit: (r: { kind: string, retried: boolean }) => { metrics.githubRateLimitWaits.inc({ kind: r.kind, retried: String(r.retried) }) }
      }
  return createOctokit({ baseUrl: config.github.apiUrl, auth, log, ...(observe === undefined ? {} : { observe }), writeIntervalMs: config.githubWriteIntervalMs })
}
