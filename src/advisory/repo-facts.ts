// What GitHub says about the owner's repositories and people: does a repository exist,
// which package does it publish, who owns it (CODEOWNERS), is a login a real user, is a
// slug a team. Read through the API and kept in an in-process LRU with a TTL: these are
// repository metadata, never report content, and a few minutes of staleness is fine.
// Without GitHub credentials (outbox mode) only the routing file is known.
import { LRUCache } from 'lru-cache'
import type { Octokit } from '@octokit/rest'
import { CODEOWNERS_PATHS, defaultOwners, type Owners } from '../triage/codeowners.js'
import { MANIFESTS, packageFromManifest, type PackageRef } from '../triage/manifest.js'
import type { Routing } from '../triage/routing.js'
import { toAdvisoryError } from './sink.js'
import type { Log } from './github-client.js'

export interface RepoFacts {
  repoExists: (repo: string) => Promise<boolean>
  /** The package from the first manifest found; undefined when none is. */
  package: (repo: string) => Promise<PackageRef | undefined>
  /** Default-pattern owners from the first CODEOWNERS found. */
  owners: (repo: string) => Promise<Owners>
  /** A GitHub user account (not an organisation) with this login; its canonical spelling. */
  user: (login: string) => Promise<string | undefined>
  teamExists: (slug: string) => Promise<boolean>
}

export interface FactsCacheOptions {
  ttlMs?: number
  max?: number
}

const FILE_MAX_BYTES = 512 * 1024

export function githubFacts (octokit: Octokit, owner: string, log: Log, opts: FactsCacheOptions = {}): RepoFacts {
  const cache = new LRUCache<string, { value: unknown }>({ max: opts.max ?? 2000, ttl: opts.ttlMs ?? 10 * 60_000 })
  const cached = async <T>(key: string, load: () => Promise<T>): Promise<T> => {
    const hit = cache.get(key)
    if (hit !== undefined) return hit.value as T
    const value = await load()
    cache.set(key, { value })
    return value
  }
  // 404 (and 403: the token cannot see it) means "not there"; anything else is retried.
  const read = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn()
    } catch (err) {
      const status = (err as { status?: unknown }).status
      if (status === 404) return undefined
      if (status === 403 && !/rate limit/i.test(String((err as { response?: { data?: { message?: string } } }).response?.data?.message ?? ''))) {
        log.warn({ what, status }, 'github read refused; treated as absent')
        return undefined
      }
      throw toAdvisoryError(what, err)
    }
  }
  const file = async (repo: string, path: string): Promise<string | undefined> =>
    await cached(`file:${repo}:${path}`, async () => {
      const res = await read(`read ${path} of ${owner}/${repo}`, async () => await octokit.rest.repos.getContent({ owner, repo, path }))
      const data = res?.data as { type?: string, encoding?: string, content?: string, size?: number } | undefined
      if (data === undefined || data.type !== 'file' || data.encoding !== 'base64' || (data.size ?? 0) > FILE_MAX_BYTES) return undefined
      return Buffer.from(data.content ?? '', 'base64').toString('utf8')
    })
  // GitHub answers a renamed or transferred repository with a redirect, which the
  // client follows: the answer then describes another repository, possibly of another
  // owner. Only the repository asked for, inside `owner`, counts as existing.
  const repoExists = async (repo: string): Promise<boolean> =>
    await cached(`repo:${repo.toLowerCase()}`, async () => {
      const res = await read(`look up ${owner}/${repo}`, async () => await octokit.rest.repos.get({ owner, repo }))
      const data = res?.data as { name?: string, owner?: { login?: string } } | undefined
      return data?.owner?.login?.toLowerCase() === owner.toLowerCase() && data.name?.toLowerCase() === repo.toLowerCase()
    })
  return {
    repoExists,
    async package (repo) {
      for (const manifest of MANIFESTS) {
        const content = await file(repo, manifest)
        if (content === undefined) continue
        const found = packageFromManifest(manifest, content)
        if (found !== undefined) return found
      }
      return undefined
    },
    async owners (repo) {
      for (const path of CODEOWNERS_PATHS) {
        const content = await file(repo, path)
        if (content !== undefined) return defaultOwners(content, owner)
      }
      return { users: [], teams: [] }
    },
    async user (login) {
      return await cached(`user:${login.toLowerCase()}`, async () => {
        const res = await read(`look up user ${login}`, async () => await octokit.rest.users.getByUsername({ username: login }))
        const data = res?.data as { login?: string, type?: string } | undefined
        return data?.type === 'User' && typeof data.login === 'string' ? data.login : undefined
      })
    },
    async teamExists (slug) {
      return await cached(`team:${slug}`, async () =>
        (await read(`look up team ${owner}/${slug}`, async () => await octokit.rest.teams.getByName({ org: owner, team_slug: slug }))) !== undefined)
    }
  }
}

/** Outbox mode: repositories named in the routing file exist; nothing else can be checked. */
export function offlineFacts (routing: Routing, defaultRepo: string): RepoFacts {
  const names = new Set([defaultRepo, ...routing.repositories.map((r) => r.name)].map((n) => n.toLowerCase()))
  return {
    repoExists: async (repo) => names.has(repo.toLowerCase()),
    package: async () => undefined,
    owners: async () => ({ users: [], teams: [] }),
    user: async () => undefined,
    teamExists: async () => false
  }
}
