// The release announcement SECURITY.md asks for (CVE, severity, impact, fixed versions and
// where to get them, mitigations), built from the PUBLISHED advisory only: its fields,
// and the Impact / Patches / Workarounds sections maintainers write in its description
// (GitHub's advisory template). The description of an advisory the gateway filed still
// holds the report, but only inside fenced code under the gateway's own headings, and a
// heading inside a fence is not a heading: nothing of the report is ever taken.
import { cutText, DISCORD_MAX_CHARS } from '../notify/chat.js'
import type { Templates } from '../mail/templates.js'
import type { RepositoryAdvisory } from '../advisory/github-advisory.js'

/** Where one section may be as long as this; shortened further to fit Discord's limit. */
const SECTION_CHARS = 700
const MIN_SECTION_CHARS = 120
const FIXES_MAX = 10

export type SectionName = 'impact' | 'patches' | 'workarounds'

const TITLES: Array<[SectionName, RegExp]> = [
  ['impact', /^impacts?\b/],
  ['patches', /^(patches|patched versions?|fix(es)?|fixed versions?|remediation)\b/],
  ['workarounds', /^(workarounds?|mitigations?|mitigating steps)\b/]
]

/** The announcement text, within Discord's 2000 characters. */
export function buildAnnouncement (advisory: RepositoryAdvisory, repository: string, templates: Templates): string {
  const sections = descriptionSections(advisory.description ?? '')
  const summary = oneLine(advisory.summary ?? '', 200)
  const impact = sections.impact ?? summary
  const fixes = fixedVersions(advisory)
  const patches = fixes.length > 0 ? fixes.join('\n') : sections.patches ?? 'See the advisory.'
  const mitigations = sections.workarounds ?? 'No workaround is documented: upgrade to a fixed version.'
  const render = (budget: number) => templates.render('announcement', {
    ghsaId: advisory.ghsa_id,
    cveId: advisory.cve_id ?? 'none assigned',
    summary: summary === '' ? advisory.ghsa_id : summary,
    severity: severityLine(advisory),
    repository,
    advisoryUrl: /^https?:\/\//.test(advisory.html_url) ? advisory.html_url : '',
    impact: clip(impact, budget),
    fixedVersions: clip(patches, budget),
    mitigations: clip(mitigations, budget)
  }).text
  let budget = SECTION_CHARS
  let text = render(budget)
  while (text.length > DISCORD_MAX_CHARS && budget > MIN_SECTION_CHARS) {
    budget = Math.max(MIN_SECTION_CHARS, budget - Math.ceil((text.length - DISCORD_MAX_CHARS) / 3) - 10)
    text = render(budget)
  }
  return cutText(text, DISCORD_MAX_CHARS)
}

/** "High · CVSS 8.1 `CVSS:3.1/...`": the newest CVSS version GitHub has, else the plain severity. */
export function severityLine (advisory: RepositoryAdvisory): string {
  const word = advisory.severity == null ? 'not rated' : advisory.severity.charAt(0).toUpperCase() + advisory.severity.slice(1)
  const scored = [advisory.cvss_severities?.cvss_v4, advisory.cvss_severities?.cvss_v3, advisory.cvss]
    .find((c) => c != null && (c.vector_string != null || c.score != null))
  if (scored == null) return word
  const score = scored.score == null ? '' : ` ${scored.score.toFixed(1)}`
  const vector = scored.vector_string == null || !/^CVSS:[0-9.]+\/[A-Z:/]+$/.test(scored.vector_string) ? '' : ` \`${scored.vector_string}\``
  return `${word} · CVSS${score}${vector}`
}

/** One line per package with patched versions: "- npm `@acme/widget`: 1.2.4 (affected: < 1.2.4)". */
function fixedVersions (advisory: RepositoryAdvisory): string[] {
  return (advisory.vulnerabilities ?? [])
    .filter((v) => v.patched_versions != null && v.patched_versions.trim() !== '')
    .slice(0, FIXES_MAX)
    .map((v) => {
      const name = v.package?.name == null ? '' : ` \`${oneLine(v.package.name, 100).replace(/`/g, '')}\``
      const affected = v.vulnerable_version_range == null ? '' : ` (affected: ${oneLine(v.vulnerable_version_range, 100)})`
      return `- ${v.package?.ecosystem ?? 'other'}${name}: **${oneLine(v.patched_versions ?? '', 100)}**${affected}`
    })
}

/**
 * The maintainers' sections of a Markdown description, by ATX heading outside fenced code.
 * A section ends at the next heading of any level (the gateway's `### Report text` follows
 * its metadata with no heading in between), and at the gateway's intake marker.
 */
export function descriptionSections (markdown: string): Partial<Record<SectionName, string>> {
  const found: Partial<Record<SectionName, string[]>> = {}
  let current: string[] | undefined
  let fence: { char: string, length: number } | undefined
  for (const line of markdown.replace(/\r\n?/g, '\n').split('\n')) {
    const fenceMark = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1]
    if (fence !== undefined) {
      if (fenceMark !== undefined && fenceMark[0] === fence.char && fenceMark.length >= fence.length && line.trim() === fenceMark) fence = undefined
      current?.push(line)
      continue
    }
    if (fenceMark !== undefined) {
      fence = { char: fenceMark[0] as string, length: fenceMark.length }
      current?.push(line)
      continue
    }
    if (line.includes('<!-- intake-id:')) {
      current = undefined
      continue
    }
    const heading = /^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$/.exec(line)
    if (heading !== null) {
      const title = (heading[1] ?? '').replace(/[*_`:]/g, '').trim().toLowerCase()
      const name = TITLES.find(([, re]) => re.test(title))?.[0]
      current = name === undefined || found[name] !== undefined ? undefined : (found[name] = [])
      continue
    }
    current?.push(line)
  }
  const out: Partial<Record<SectionName, string>> = {}
  for (const [name, lines] of Object.entries(found) as Array<[SectionName, string[]]>) {
    const text = tidySection(lines)
    if (text !== '') out[name] = text
  }
  return out
}

/** Without HTML comments and GitHub's template prompts ("_Who is impacted?_") left in. */
function tidySection (lines: string[]): string {
  return lines.join('\n')
    .replace(/<!--[\s\S]*?(-->|$)/g, '')
    .split('\n')
    .filter((l) => !/^\s*([_*])[^_*]+\?\1\s*$/.test(l))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
}

/** At most `max` characters, cut at a line or word end, an open code fence closed again. */
export function clip (text: string, max: number): string {
  if (text.length <= max) return text
  const head = text.slice(0, max - 1)
  const end = Math.max(head.lastIndexOf('\n'), head.lastIndexOf(' '))
  let cut = (end > max / 2 ? head.slice(0, end) : head).replace(/\s+$/, '') + '…'
  if ((cut.match(/^ {0,3}(```|~~~)/gm) ?? []).length % 2 === 1) cut += '\n```'
  return cut
}

function oneLine (text: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  return cutText(text.replace(/[\u0000-\u001F\u007F-\u009F\u2028\u2029]/g, ' ').replace(/\s+/g, ' ').trim(), max)
}
