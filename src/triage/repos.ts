// Which repository of GITHUB_OWNER a report is about. Signals, strongest first:
//   - a link or module path github.com/<owner>/<repo> (owner = GITHUB_OWNER only)
//   - a subject tag "[fetch]" naming a routed repository or alias (or, unverified, any
//     repository name: the gateway keeps it only if the repository exists)
//   - a package name from the routing file (npm name, Go module path, crate) or an
//     alias, as a whole word in the subject or text
// Links to other owners are never candidates: nothing is filed outside GITHUB_OWNER.
import type { Routing } from './routing.js'
import { isRepoName, scanned, unique } from './text.js'

export interface RepoCandidate {
  /** Repository name inside GITHUB_OWNER, as the routing file spells it when it knows it. */
  repo: string
  /** Why (our own labels plus the matched name, which is a repository or routing name). */
  reasons: string[]
  /** Named in the routing file; otherwise only a guess until the API confirms it exists. */
  known: boolean
}

const CANDIDATES_MAX = 8
const TAGS_MAX = 5

export function findRepoCandidates (input: { subject: string, text: string }, routing: Routing, owner: string): RepoCandidate[] {
  const byName = new Map<string, RepoCandidate>()
  const known = new Map(routing.repositories.map((r) => [r.name.toLowerCase(), r.name]))
  const aliasOf = new Map<string, string>()
  for (const r of routing.repositories) for (const a of r.aliases) aliasOf.set(a, r.name)
  const add = (name: string, reason: string): void => {
    const canonical = known.get(name.toLowerCase()) ?? name
    const key = canonical.toLowerCase()
    const entry = byName.get(key) ?? { repo: canonical, reasons: [], known: known.has(key) }
    if (!entry.reasons.includes(reason)) entry.reasons.push(reason)
    byName.set(key, entry)
  }
  const both = `${input.subject}\n${scanned(input.text)}`

  // Links and Go module paths: github.com/<owner>/<repo>[.git][/...]
  const link = new RegExp(`\\bgithub\\.com/${escapeRe(owner)}/([A-Za-z0-9._-]{1,100})`, 'gi')
  for (const m of both.matchAll(link)) {
    const name = (m[1] ?? '').replace(/\.git$/i, '').replace(/[.]+$/, '')
    if (isRepoName(name)) add(name, 'link')
  }

  // Subject tags: [fetch], [toolhive] (not [SECURITY], [PATCH], intake ids or GHSA ids)
  const tags = unique([...input.subject.matchAll(/\[([A-Za-z0-9._/@-]{1,100})\]/g)].map((m) => m[1] ?? ''), TAGS_MAX)
  for (const tag of tags) {
    const lower = tag.toLowerCase()
    const routed = known.get(lower) ?? aliasOf.get(lower) ?? packageRoute(routing, lower)
    if (routed !== undefined) add(routed, `subject tag [${tag.slice(0, 40)}]`)
    else if (isRepoName(tag) && !NOT_A_REPO.test(tag)) add(tag, `subject tag [${tag.slice(0, 40)}] (unlisted)`)
  }

  // Package names and aliases from the routing file, as whole words.
  const lowerText = both.toLowerCase()
  for (const r of routing.repositories) {
    for (const p of r.packages) if (containsWord(lowerText, p)) add(r.name, `package ${p}`)
    for (const a of r.aliases) if (containsWord(lowerText, a)) add(r.name, `alias ${a}`)
  }
  return [...byName.values()].slice(0, CANDIDATES_MAX)
}

// Subject tags that are mail conventions or our own references, not repositories.
const NOT_A_REPO = /^(?:security|vuln(?:erability)?|report|patch|bug|urgent|critical|high|medium|low|sec|cve|fwd?|re|ext(?:ernal)?|ghsa-.*|[0-9a-f]{24}|\d+)$/i

function packageRoute (routing: Routing, lower: string): string | undefined {
  return routing.repositories.find((r) => r.packages.includes(lower))?.name
}

/** `word` in `text` with no name character right before or after it. */
function containsWord (text: string, word: string): boolean {
  let from = 0
  for (;;) {
    const at = text.indexOf(word, from)
    if (at === -1) return false
    const before = text[at - 1]
    const after = text[at + word.length]
    if (!isNameChar(before) && !isNameChar(after)) return true
    from = at + 1
  }
}

function isNameChar (c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_@/-]/.test(c)
}

function escapeRe (s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

export interface RouteDecision {
  /** Repository the advisory goes to. */
  repo: string
  /** true: exactly one candidate; false: the default repository. */
  routed: boolean
  reason: 'one candidate' | 'no candidate' | 'several candidates'
}

/**
 * Exactly one candidate that exists: that repository. None or several: the default,
 * and the advisory lists the candidates for the team to move it.
 */
export function decideRoute (existing: RepoCandidate[], defaultRepo: string): RouteDecision {
  if (existing.length === 1) return { repo: (existing[0] as RepoCandidate).repo, routed: true, reason: 'one candidate' }
  return { repo: defaultRepo, routed: false, reason: existing.length === 0 ? 'no candidate' : 'several candidates' }
}
