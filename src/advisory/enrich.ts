// From an opened report to everything the draft advisory should carry before a human
// looks: the repository, the package, severity or vector, CWE ids, credits and
// collaborators. The rules are the pure triage module; this adds what only GitHub can
// confirm (the repository exists, its manifest, its CODEOWNERS, the reporter's login).
import type { OpenedReport } from '../domain/report.js'
import { inlineText } from '../triage/attachments.js'
import { decideSeverity, triage, type Findings, type SeverityDecision } from '../triage/index.js'
import type { PackageRef } from '../triage/manifest.js'
import { decideRoute, type RepoCandidate, type RouteDecision } from '../triage/repos.js'
import type { Routing } from '../triage/routing.js'
import type { RepoFacts } from './repo-facts.js'

export interface EnrichDeps {
  facts: RepoFacts
  routing: Routing
  owner: string
  defaultRepo: string
  /** Text-like attachments up to this size are shown inline (0: none). */
  inlineAttachmentBytes: number
}

export interface Enriched {
  findings: Findings
  candidates: Array<RepoCandidate & { exists: boolean }>
  route: RouteDecision
  severity: SeverityDecision
  package: PackageRef
  /** Logins given in the report and whether GitHub knows them as users (canonical spelling). */
  logins: Array<{ given: string, user?: string }>
  credits: string[]
  collaborators: { users: string[], teams: string[], reporter?: string }
  /** Attachment index -> its text, for those shown inline. */
  inline: Map<number, string>
}

export async function enrich (report: Pick<OpenedReport, 'subject' | 'text' | 'attachments'>, deps: EnrichDeps): Promise<Enriched> {
  const inline = new Map<number, string>()
  report.attachments.forEach((a, i) => {
    if (deps.inlineAttachmentBytes <= 0) return
    const text = inlineText(a, deps.inlineAttachmentBytes)
    if (text !== undefined) inline.set(i, text)
  })
  const findings = triage({ subject: report.subject, text: report.text, attachmentTexts: [...inline.values()] }, { routing: deps.routing, owner: deps.owner })
  const candidates: Enriched['candidates'] = []
  for (const c of findings.candidates) candidates.push({ ...c, exists: await deps.facts.repoExists(c.repo) })
  const route = decideRoute(candidates.filter((c) => c.exists), deps.defaultRepo)
  const found = await deps.facts.package(route.repo)
  const pkg: PackageRef = found ?? { ecosystem: 'other', name: null }

  const logins: Enriched['logins'] = []
  for (const given of findings.logins) {
    const user = await deps.facts.user(given)
    logins.push(user === undefined ? { given } : { given, user })
  }
  const reporter = logins.find((l) => l.user !== undefined)?.user
  const owners = await deps.facts.owners(route.repo)
  const users: string[] = []
  for (const login of owners.users) {
    const user = await deps.facts.user(login)
    if (user !== undefined && !users.some((u) => u.toLowerCase() === user.toLowerCase())) users.push(user)
  }
  const teams: string[] = []
  for (const slug of owners.teams) if (await deps.facts.teamExists(slug)) teams.push(slug)
  const wantsIn = reporter !== undefined && findings.wantsCollaboration
  if (wantsIn && !users.some((u) => u.toLowerCase() === reporter.toLowerCase())) users.push(reporter)
  return {
    findings,
    candidates,
    route,
    severity: decideSeverity(findings),
    package: pkg,
    logins,
    credits: reporter === undefined ? [] : [reporter],
    collaborators: { users, teams, ...(wantsIn ? { reporter } : {}) },
    inline
  }
}
