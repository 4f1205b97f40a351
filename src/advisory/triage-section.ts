// The "Triage" table of the advisory: what the gateway concluded and why, so the team
// can check it at a glance and fix what is wrong. Values that come from the report
// (vectors, logins, versions, names from subject tags) go through the same code-span
// cells as the metadata table; everything else is our own wording.
import type { Enriched } from './enrich.js'
import { code } from './render.js'

export function triageSection (e: Enriched, owner: string): string[] {
  const rows: Array<[string, string]> = []
  const where = code(`${owner}/${e.route.repo}`)
  rows.push(['Repository', e.route.routed
    ? `${where} (${e.candidates.find((c) => c.exists)?.reasons.map((r) => code(r, 60)).join(', ') ?? ''})`
    : `${where}: **default repository**, ${e.route.reason === 'no candidate' ? 'no repository of the organisation was named' : 'several repositories were named; move the advisory if one is right'}`])
  if (e.candidates.length > 0) {
    rows.push(['Candidates', e.candidates.map((c) => `${code(c.repo, 100)} (${c.reasons.map((r) => code(r, 60)).join(', ')}; ${c.exists ? 'exists' : '**not found**'})`).join('; ')])
  }
  rows.push(['Package', e.package.name === null ? `${e.package.ecosystem} (no manifest found)` : `${e.package.ecosystem} ${code(e.package.name, 120)}`])
  const v = e.findings.versions
  if (v.vulnerableRange !== undefined || v.patched !== undefined) {
    rows.push(['Versions', [v.vulnerableRange === undefined ? '' : `affected ${code(v.vulnerableRange, 80)}`, v.patched === undefined ? '' : `patched ${code(v.patched, 40)}`].filter(Boolean).join('; ')])
  }
  rows.push(['Severity', severityCell(e)])
  if (e.findings.cvss.invalid.length > 0) {
    rows.push(['Invalid CVSS vectors (not sent)', e.findings.cvss.invalid.map((i) => `${code(i.vector, 120)}: ${code(i.reason, 100)}`).join('; ')])
  }
  const others = e.findings.cvss.valid.slice(1)
  if (others.length > 0) rows.push(['Other vectors stated', others.map((o) => `${code(o.vector, 120)} ${o.score.toFixed(1)} (${o.band})`).join('; ')])
  rows.push(['CWE', e.findings.cweIds.length === 0 ? '*(none stated)*' : e.findings.cweIds.map((id) => code(id)).join(', ')])
  if (e.findings.cveIds.length > 0) rows.push(['CVE ids mentioned', e.findings.cveIds.map((id) => code(id)).join(', ')])
  const d = e.findings.disclosure
  rows.push(['Public disclosure', d.publiclyDisclosed
    ? `**YES: ${d.exploited ? 'exploited / 0-day' : 'publicly disclosed'}** (${d.reasons.join(', ')}). All timelines become ASAP.`
    : 'not indicated'])
  rows.push(['Reporter on GitHub', reporterCell(e)])
  const c = e.collaborators
  rows.push(['Collaborators', c.users.length + c.teams.length === 0
    ? '*(none: no CODEOWNERS default owners)*'
    : [c.users.length > 0 ? `users ${c.users.map((u) => code(u)).join(', ')}` : '', c.teams.length > 0 ? `teams ${c.teams.map((t) => code(t)).join(', ')}` : ''].filter(Boolean).join('; ') +
      (c.reporter !== undefined ? ` (the reporter ${code(c.reporter)} asked to collaborate)` : '')])
  return ['### Triage (automatic; check it)', '', '| Finding | Value |', '| --- | --- |', ...rows.map(([k, val]) => `| ${k} | ${val} |`), '']
}

function severityCell (e: Enriched): string {
  const s = e.severity
  const floor = s.floor === undefined ? '' : `; disclosure floor **${s.floor}**`
  if (s.vector !== undefined) {
    const low = s.low ? ' **LOW: score under 4.0**, the Fix Team may slow the release down (SECURITY.md)' : ''
    return `CVSS ${s.vector.version} ${code(s.vector.vector, 120)}: score **${s.vector.score.toFixed(1)}** (${s.vector.band})${low}${floor}`
  }
  if (s.severity === undefined) return '*(not stated; score it with the CVSS calculator)*'
  const stated = e.findings.statedSeverity
  const why = stated === s.severity ? 'stated by the reporter' : stated === undefined ? 'from the disclosure floor' : `raised from ${stated} by the disclosure floor`
  return `**${s.severity}** (${why})${s.low ? ', low: the Fix Team may slow the release down (SECURITY.md)' : ''}`
}

function reporterCell (e: Enriched): string {
  if (e.logins.length === 0) return '*(none given)*'
  return e.logins.map((l) => l.user !== undefined
    ? `${code(l.user)}${e.credits.includes(l.user) ? ' credited as reporter' : ''}`
    : `${code(l.given)} **not found** (not credited)`).join('; ')
}
