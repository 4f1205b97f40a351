// Issue 9, point 5 (pure parts): the announcement text from a published advisory. Its
// sections come from the maintainers' headings only, never from the report the gateway
// put in the description (fenced, under the gateway's own headings); Discord's 2000
// characters hold; the template is the team's to edit (TEMPLATES_DIR).
import t from 'tap'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildAnnouncement, clip, descriptionSections, severityLine } from '../../src/timeline/announcement.js'
import type { RepositoryAdvisory } from '../../src/advisory/github-advisory.js'
import { loadTemplates } from '../../src/mail/templates.js'
import { intakeMarker } from '../../src/advisory/marker.js'

const CANARY = 'CANARY-report-text-7f3a'

// What the gateway files: the marker, its own headings, the report in a fence (which may
// itself look like GitHub's template: the reporter's "### Impact" is not a heading there).
const filed = [
  intakeMarker('in_1'),
  '',
  '## Vulnerability report received by e-mail',
  '',
  '| Field | Value |',
  '| --- | --- |',
  '',
  '### Report text',
  '',
  '````',
  `SSRF ${CANARY}`,
  '### Impact',
  `${CANARY} everyone`,
  '```',
  '### Workarounds',
  `${CANARY} none`,
  '````',
  ''
].join('\n')

const maintainers = [
  '### Impact',
  '_What kind of vulnerability is it? Who is impacted?_',
  '',
  'The fetch tool follows redirects to internal addresses (SSRF).',
  '',
  '- Servers exposed to untrusted prompts are affected.',
  '',
  '### Patches',
  'Fixed in 1.4.2.',
  '',
  '### Workarounds',
  'Block link-local ranges at the egress proxy:',
  '```',
  'deny 169.254.0.0/16',
  '```',
  '',
  '### References',
  '- https://example.org/ssrf',
  ''
].join('\n')

function advisory (fields: Partial<RepositoryAdvisory> = {}): RepositoryAdvisory {
  return {
    ghsa_id: 'GHSA-2345-6789-cfgh',
    cve_id: 'CVE-2026-41234',
    html_url: 'https://github.com/acme/fetch/security/advisories/GHSA-2345-6789-cfgh',
    summary: 'SSRF in the fetch tool',
    description: `${maintainers}\n${filed}`,
    severity: 'high',
    state: 'published',
    vulnerabilities: [
      { package: { ecosystem: 'npm', name: '@stacklok/fetch' }, vulnerable_version_range: '< 1.4.2', patched_versions: '1.4.2', vulnerable_functions: null },
      { package: { ecosystem: 'go', name: 'github.com/acme/other' }, vulnerable_version_range: '<= 0.3.0', patched_versions: null, vulnerable_functions: null }
    ],
    cvss: { vector_string: null, score: null },
    ...fields
  } as unknown as RepositoryAdvisory
}

t.test('sections by heading, outside fences only; the gateway\'s marker ends a section; template prompts dropped', async (t) => {
  const sections = descriptionSections(`${maintainers}\n${filed}`)
  t.match(sections.impact, /^The fetch tool follows redirects to internal addresses \(SSRF\)\.\n\n- Servers exposed/)
  t.notMatch(sections.impact, /What kind of vulnerability/, 'GitHub\'s prompt left in the template is not quoted')
  t.equal(sections.patches, 'Fixed in 1.4.2.')
  t.match(sections.workarounds, /egress proxy:\n```\ndeny 169\.254\.0\.0\/16\n```$/, 'a code block in a section is kept whole')
  t.notMatch(JSON.stringify(sections), CANARY)

  t.same(descriptionSections(filed), {}, 'the report\'s look-alike headings inside the fence are not headings')
  // A maintainer writing "## Impact" right above what the gateway filed: the section stops at the marker.
  const above = descriptionSections(`## Impact\nServers are affected.\n${filed}`)
  t.equal(above.impact, 'Servers are affected.')
  const below = descriptionSections(`${filed}\n### Mitigation\nTurn the tool off.\n`)
  t.equal(below.workarounds, 'Turn the tool off.', 'sections after the gateway\'s part are found too')
  t.same(descriptionSections('### Impact\n<!-- a note -->\n_Who is impacted?_\n'), {}, 'a section left as the template is empty')
})

t.test('the announcement names the CVE, severity with CVSS, fixed versions with packages, the link, impact and mitigations', async (t) => {
  const text = buildAnnouncement(advisory(), 'acme/fetch', loadTemplates())
  t.match(text, /\*\*Security release: SSRF in the fetch tool\*\*/)
  t.match(text, 'CVE-2026-41234 (GHSA-2345-6789-cfgh)')
  t.match(text, /\*\*Severity:\*\* High\n/)
  t.match(text, '- npm `@stacklok/fetch`: **1.4.2** (affected: < 1.4.2)')
  t.notMatch(text, 'github.com/acme/other', 'a package without a fix is not listed as fixed')
  t.match(text, /\*\*Impact\*\*\nThe fetch tool follows redirects/)
  t.match(text, /\*\*Mitigations\*\*\nBlock link-local ranges/)
  t.match(text, /Advisory: https:\/\/github\.com\/acme\/fetch\/security\/advisories\/GHSA-2345-6789-cfgh\n$/)
  t.notMatch(text, CANARY)

  const bare = buildAnnouncement(advisory({ description: filed, vulnerabilities: [], cve_id: null, severity: null }), 'acme/fetch', loadTemplates())
  t.match(bare, /\*\*Impact\*\*\nSSRF in the fetch tool\n/, 'no Impact section: the summary')
  t.match(bare, /\*\*Fixed versions\*\*\nSee the advisory\./)
  t.match(bare, /\*\*Mitigations\*\*\nNo workaround is documented/)
  t.match(bare, 'CVE:** none assigned')
  t.match(bare, 'Severity:** not rated')
  t.notMatch(bare, CANARY, 'the report stays out, whatever it looks like')

  const patchesOnly = buildAnnouncement(advisory({ vulnerabilities: [] }), 'acme/fetch', loadTemplates())
  t.match(patchesOnly, /\*\*Fixed versions\*\*\nFixed in 1\.4\.2\./, 'no patched_versions: the Patches section')
})

t.test('severity: the newest CVSS GitHub gives, with score and vector', async (t) => {
  t.equal(severityLine(advisory({ severity: 'critical', cvss: { vector_string: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', score: 9.8 } })), 'Critical · CVSS 9.8 `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H`')
  t.equal(severityLine(advisory({
    severity: 'high',
    cvss: { vector_string: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', score: 7.5 },
    cvss_severities: { cvss_v3: { vector_string: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', score: 7.5 }, cvss_v4: { vector_string: 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N', score: 8.7 } }
  })), 'High · CVSS 8.7 `CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N`')
  t.equal(severityLine(advisory({ severity: 'low' })), 'Low')
})

t.test('within Discord\'s 2000 characters, sections shortened first, the link kept', async (t) => {
  const long = (word: string) => Array.from({ length: 400 }, (_, i) => `${word}${i}`).join(' ')
  const text = buildAnnouncement(advisory({ description: `### Impact\n${long('impact')}\n\n### Workarounds\n${long('workaround')}\n` }), 'acme/fetch', loadTemplates())
  t.ok(text.length <= 2000, `${text.length} characters`)
  t.match(text, /impact0 impact1/)
  t.match(text, /workaround0 workaround1/)
  t.match(text, /…/)
  t.match(text, /Advisory: https:\/\/github\.com\/acme\/fetch\/security\/advisories\/GHSA-2345-6789-cfgh\n$/, 'the link survives')
  t.equal(clip('```\ncode line one\ncode line two\n```', 20), '```\ncode line one…\n```', 'a cut code block is closed again')
})

t.test('TEMPLATES_DIR overrides the announcement; its placeholders are checked at load', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'templates-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  await writeFile(join(dir, 'announcement.txt'), 'New release for {{cveId}}:\n{{fixedVersions}}\nMore: {{advisoryUrl}}\n')
  const text = buildAnnouncement(advisory(), 'acme/fetch', loadTemplates(dir))
  t.equal(text, 'New release for CVE-2026-41234:\n- npm `@stacklok/fetch`: **1.4.2** (affected: < 1.4.2)\nMore: https://github.com/acme/fetch/security/advisories/GHSA-2345-6789-cfgh\n', 'kept as written, not reflowed; a block takes its lines')
  await writeFile(join(dir, 'announcement.txt'), 'Release {{reportText}}\n')
  t.throws(() => loadTemplates(dir), /announcement\.txt: unknown placeholder \{\{reportText\}\}/)
})
