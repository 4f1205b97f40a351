// The routing file (ROUTING_FILE, YAML or JSON): which repositories of GITHUB_OWNER a
// report can be routed to, with the aliases and package names people use for them.
//
//   repositories:
//     - name: toolhive
//       aliases: [thv]
//       packages: [github.com/stacklok/toolhive]
//
// Parsed once at start; a mistake fails the start with every problem listed.
import { parse as parseYaml } from 'yaml'
import { isRepoName } from './text.js'

interface RouteEntry {
  /** Repository name inside GITHUB_OWNER. */
  name: string
  /** Other names for it (lower case): subject tags like `[thv]`, words in the text. */
  aliases: string[]
  /** npm names, Go module paths, crate or PyPI names published from it (lower case). */
  packages: string[]
}

export interface Routing {
  repositories: RouteEntry[]
}

export const emptyRouting: Routing = Object.freeze({ repositories: [] }) as Routing

export class RoutingError extends Error {
  constructor (readonly problems: string[]) {
    super(`invalid routing file:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'RoutingError'
  }
}

const ENTRIES_MAX = 500
const NAMES_MAX = 50

/** Parses routing file text (`.json` is JSON; anything else is YAML, a superset of it). */
export function parseRouting (text: string, opts: { json?: boolean, owner?: string } = {}): Routing {
  let doc: unknown
  try {
    doc = opts.json === true ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 })
  } catch (err) {
    throw new RoutingError([`not valid ${opts.json === true ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`])
  }
  const problems: string[] = []
  const root = (doc ?? {}) as { owner?: unknown, repositories?: unknown }
  if (typeof root !== 'object' || Array.isArray(root)) throw new RoutingError(['the top level must be a mapping with `repositories`'])
  if (root.owner !== undefined && opts.owner !== undefined && String(root.owner).toLowerCase() !== opts.owner.toLowerCase()) {
    problems.push(`owner ${JSON.stringify(root.owner)} is not GITHUB_OWNER (${opts.owner}): every route is inside GITHUB_OWNER`)
  }
  if (!Array.isArray(root.repositories)) throw new RoutingError([...problems, '`repositories` must be a list'])
  if (root.repositories.length > ENTRIES_MAX) problems.push(`at most ${ENTRIES_MAX} repositories`)
  const repositories: RouteEntry[] = []
  const claimed = new Map<string, string>()
  root.repositories.slice(0, ENTRIES_MAX).forEach((item, i) => {
    const where = `repositories[${i}]`
    const entry = (typeof item === 'string' ? { name: item } : item ?? {}) as { name?: unknown, aliases?: unknown, packages?: unknown }
    if (typeof entry.name !== 'string' || !isRepoName(entry.name)) {
      problems.push(`${where}.name must be a repository name (letters, digits, . _ -)`)
      return
    }
    if (entry.name.includes('/')) problems.push(`${where}.name: name only, the owner is GITHUB_OWNER`)
    const list = (key: 'aliases' | 'packages'): string[] => {
      const value = entry[key] ?? []
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.trim() === '' || v.length > 214)) {
        problems.push(`${where}.${key} must be a list of non-empty strings`)
        return []
      }
      if (value.length > NAMES_MAX) problems.push(`${where}.${key}: at most ${NAMES_MAX}`)
      return (value as string[]).slice(0, NAMES_MAX).map((v) => v.trim().toLowerCase())
    }
    const route: RouteEntry = { name: entry.name, aliases: list('aliases'), packages: list('packages') }
    for (const key of [route.name.toLowerCase(), ...route.aliases, ...route.packages]) {
      const other = claimed.get(key)
      if (other !== undefined && other !== route.name) problems.push(`${where}: ${JSON.stringify(key)} already routes to ${other}`)
      claimed.set(key, route.name)
    }
    repositories.push(route)
  })
  if (problems.length > 0) throw new RoutingError(problems)
  return { repositories }
}
