// The one Octokit factory: retry for transient failures, throttling for GitHub's rate
// limits, and a per-attempt request log. Request bodies carry report text, so nothing
// here logs options or bodies: only method, route template, status and duration.

import { Octokit } from '@octokit/rest'
import { retry } from '@octokit/plugin-retry'
import { throttling } from '@octokit/plugin-throttling'
import { createAppAuth } from '@octokit/auth-app'
import Bottleneck from 'bottleneck'

/** A token, or a GitHub App installation (its tokens are minted and renewed by auth-app). */
export type GithubAuth = string | { appId: string, privateKey: string, installationId: string }

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
  /** least time between two content-creating requests (plugin-throttling's default, 1000,
   * follows GitHub's guidance of about one per second) */
  writeIntervalMs?: number
  /** Told of every attempt and every rate limit (metrics); route is the URL template. */
  observe?: GithubObserver
}

export interface GithubObserver {
  request: (info: { method: string, route: string, status: number | 'error' }) => void
  rateLimit: (info: { kind: 'primary' | 'secondary', retried: boolean }) => void
}

export function createOctokit (opts: GithubClientOptions): Octokit {
  const { log } = opts
  const rateLimitRetries = opts.rateLimitRetries ?? 3
  const maxWait = opts.maxRateLimitWaitSeconds ?? 120
  const retries = opts.retries ?? 3
  // requestLogging goes first so its wrap sits inside retry/throttling: one line per attempt.
  const GithubOctokit = Octokit.plugin(requestLogging(log, opts.observe), retry, throttling)

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
    throttle: opts.throttle === false
      ? { enabled: false }
      : {
          onRateLimit: onLimit('primary'),
          onSecondaryRateLimit: onLimit('secondary'),
          ...(opts.writeIntervalMs !== undefined ? { write: new Bottleneck.Group({ id: 'octokit-write', maxConcurrent: 1, minTime: opts.writeIntervalMs }) } : {})
        }
  })
}

/**
 * The route as a bounded label. Octokit hands the hook the template ("/repos/{owner}/
 * {repo}/security-advisories"), except when paginating: then the next page's URL comes
 * from GitHub's Link header, absolute, with an opaque cursor in its query, one new
 * metric series per page fetched. Origin and query are dropped, ids become placeholders.
 */
export function routeTemplate (url: string): string {
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
