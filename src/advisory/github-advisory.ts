// The whole advisory as GitHub has it now: the one way the steps after intake read it
// (reminders and publication, fork, CVE request, distributor notice, announcement,
// retrospective). Read every time, never stored: GitHub is the one source of truth, and
// the description may still hold the report.
import type { Octokit, RestEndpointMethodTypes } from '@octokit/rest'
import { toAdvisoryError } from './sink.js'
import type { AdvisoryJobRef } from '../queue/jobs.js'

export type RepositoryAdvisory = RestEndpointMethodTypes['securityAdvisories']['getRepositoryAdvisory']['response']['data']

/** GET the advisory; undefined when it is gone (404). Errors are our own words (Octokit's carry the request). */
export async function readAdvisory (octokit: Octokit, ref: AdvisoryJobRef): Promise<RepositoryAdvisory | undefined> {
  try {
    return (await octokit.rest.securityAdvisories.getRepositoryAdvisory({ owner: ref.owner, repo: ref.repo, ghsa_id: ref.ghsaId })).data
  } catch (err) {
    if ((err as { status?: unknown }).status === 404) return undefined
    throw toAdvisoryError(`read advisory ${ref.ghsaId}`, err)
  }
}

/** What an operator is told when readAdvisory finds nothing (GitHub answers 404 for "no access" too). */
export function advisoryNotFound (ghsaId: string): string {
  return `${ghsaId} is not found on GitHub (deleted, or no access)`
}

/** For the operator's commands: the advisory, or why it could not be read, in words. */
export async function readAdvisoryOrReason (octokit: Octokit, ref: AdvisoryJobRef): Promise<{ advisory: RepositoryAdvisory } | { reason: string }> {
  try {
    const advisory = await readAdvisory(octokit, ref)
    return advisory === undefined ? { reason: advisoryNotFound(ref.ghsaId) } : { advisory }
  } catch (err) {
    return { reason: (err as Error).message }
  }
}

/** A GitHub login or team slug as we print it; anything else is dropped. */
export function safeLogin (value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(value) ? value : undefined
}
