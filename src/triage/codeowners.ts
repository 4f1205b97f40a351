// CODEOWNERS (root, docs/ or .github/): the owners of the default pattern become the
// advisory's collaborators ("add collaborators from codeowners team only"). GitHub's
// rules: the last matching line wins, a pattern without owners clears ownership, `!`,
// `[ ]` and `\#` patterns are not supported and invalid lines are skipped. "Default
// pattern" = a line whose pattern matches every file: `*`, `/*`... of those, the last.
import { LOGIN } from './text.js'

export interface Owners {
  users: string[]
  /** Team slugs of teams in `org` (teams of other organisations cannot be added). */
  teams: string[]
}

const DEFAULT_PATTERNS = new Set(['*', '/*', '**', '/**', '**/*', '/**/*'])
const OWNERS_MAX = 20
const LINES_MAX = 5000

export function defaultOwners (codeowners: string, org: string): Owners {
  let owners: string[] | undefined
  for (const raw of codeowners.split(/\r?\n/).slice(0, LINES_MAX)) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim()
    if (line === '') continue
    const [pattern = '', ...rest] = line.split(/\s+/)
    if (pattern.startsWith('!') || pattern.includes('[') || pattern.startsWith('\\#')) continue
    if (!DEFAULT_PATTERNS.has(pattern)) continue
    // A line with any invalid owner is skipped as a whole, as GitHub does.
    if (!rest.every(validOwner)) continue
    owners = rest
  }
  const users: string[] = []
  const teams: string[] = []
  for (const owner of owners ?? []) {
    if (!owner.startsWith('@')) continue // e-mail owners: no GitHub account to add
    const [a = '', b] = owner.slice(1).split('/')
    if (b === undefined) users.push(a)
    else if (a.toLowerCase() === org.toLowerCase()) teams.push(b.toLowerCase())
  }
  return { users: dedupe(users).slice(0, OWNERS_MAX), teams: dedupe(teams).slice(0, OWNERS_MAX) }
}

function validOwner (owner: string): boolean {
  if (/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(owner)) return true
  const m = /^@([^/]+)(?:\/([A-Za-z0-9_.-]{1,100}))?$/.exec(owner)
  return m !== null && LOGIN.test(m[1] ?? '')
}

function dedupe (values: string[]): string[] {
  const seen = new Set<string>()
  return values.filter((v) => { const k = v.toLowerCase(); if (seen.has(k)) return false; seen.add(k); return true })
}

/** Where GitHub looks, in its order of precedence. */
export const CODEOWNERS_PATHS = ['.github/CODEOWNERS', 'CODEOWNERS', 'docs/CODEOWNERS'] as const
