// SECURITY.md: the Fix Team works on the fix in a temporary private fork of the
// repository. PRIVATE_FORK_POLICY decides when the gateway asks GitHub for it together
// with the draft advisory (`start_private_fork`); otherwise `intake advisory fork <GHSA>`
// asks for it later (POST .../security-advisories/{ghsa_id}/forks).
import type { Octokit } from '@octokit/rest'
import type { PrivateForkPolicy, Severity } from '../domain/advisory.js'
import { readAdvisoryOrReason } from './github-advisory.js'
import { toAdvisoryError } from './sink.js'

const RANK: Record<Severity, number> = { low: 1, medium: 2, high: 3, critical: 4 }

/**
 * Whether the advisory is filed with `start_private_fork`. `severity` is what it is filed
 * with (the CVSS vector's band, or the severity field); a threshold policy never forks a
 * report of unknown severity (the team can still run `advisory fork`).
 */
export function forkOnCreation (policy: PrivateForkPolicy, severity: string | undefined): boolean {
  if (policy === 'never' || policy === 'always') return policy === 'always'
  return severity !== undefined && Object.hasOwn(RANK, severity) && RANK[severity as Severity] >= RANK[policy]
}

interface ForkRef {
  fullName: string
  htmlUrl: string
  /** false: the advisory already had its fork (GitHub's `private_fork`), nothing was asked. */
  created: boolean
}

/** The outcome, in words for the operator: GitHub's refusal is not an exception here. */
export type ForkOutcome = { ok: true, fork: ForkRef } | { ok: false, message: string }

type Where = { owner: string, repo: string, ghsaId: string }

/**
 * The advisory's fork: the one it has (read first, so a second run or a fork requested at
 * creation asks nothing), else a new one. GitHub forks asynchronously: the answer names
 * the repository before it can be used.
 */
export async function requestFork (octokit: Octokit, where: Where): Promise<ForkOutcome> {
  const { owner, repo, ghsaId } = where
  const read = await readAdvisoryOrReason(octokit, where)
  if ('reason' in read) return { ok: false, message: read.reason }
  const existing = read.advisory.private_fork
  if (existing != null) return { ok: true, fork: { fullName: existing.full_name, htmlUrl: existing.html_url, created: false } }
  try {
    const { data } = await octokit.rest.securityAdvisories.createFork({ owner, repo, ghsa_id: ghsaId, request: { retries: 0 } })
    return { ok: true, fork: { fullName: data.full_name, htmlUrl: data.html_url, created: true } }
  } catch (err) {
    const e = toAdvisoryError(`create the private fork of ${ghsaId}`, err)
    if (e.status !== 422) return { ok: false, message: e.message }
    return { ok: false, message: `${e.message}\nGitHub refused the fork: one may already exist or be in progress for this advisory (GitHub forks asynchronously, up to 5 minutes), or the advisory's state does not allow one; see the advisory page.` }
  }
}
