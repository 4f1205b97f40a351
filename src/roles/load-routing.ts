// Reads ROUTING_FILE once at start. No file: no routes (every report goes to
// GITHUB_DEFAULT_REPO unless it links a repository that exists).
import { readFileSync } from 'node:fs'
import type { Config } from '../config.js'
import { emptyRouting, parseRouting, type Routing } from '../triage/routing.js'

export function loadRouting (config: Pick<Config, 'routingFile' | 'github'>): Routing {
  if (config.routingFile === undefined) return emptyRouting
  const text = readFileSync(config.routingFile, 'utf8')
  return parseRouting(text, { json: config.routingFile.endsWith('.json'), ...(config.github.owner === undefined ? {} : { owner: config.github.owner }) })
}
