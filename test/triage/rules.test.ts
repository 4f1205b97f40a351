// Every triage rule, without network: text in, findings out, including hostile text.
import t from 'tap'
import { band, findCvss, scoreVector } from '../../src/triage/cvss.js'
import { findCweIds } from '../../src/triage/cwe.js'
import { findCveIds, findDisclosure } from '../../src/triage/disclosure.js'
import { findLogins, wantsToCollaborate } from '../../src/triage/logins.js'
import { findVersions } from '../../src/triage/versions.js'
import { statedSeverity } from '../../src/triage/severity-words.js'
import { decideRoute, findRepoCandidates } from '../../src/triage/repos.js'
import { parseRouting, RoutingError } from '../../src/triage/routing.js'
import { defaultOwners } from '../../src/triage/codeowners.js'
import { packageFromManifest } from '../../src/triage/manifest.js'
import { fenceFor, inlineText } from '../../src/triage/attachments.js'
import { threadRefs } from '../../src/triage/thread.js'
import { decideSeverity, triage } from '../../src/triage/index.js'
import { readFileSync } from 'node:fs'

const OWNER = 'StacklokLabs'
const routing = parseRouting(readFileSync(new URL('../../docs/routing.example.yaml', import.meta.url), 'utf8'), { owner: OWNER })

t.test('CVSS 3.0, 3.1 and 4.0 vectors are validated and scored', async (t) => {
  const found = findCvss([
    'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
    'and CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N.',
    'plus CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N'
  ].join('\n'))
  t.same(found.valid.map((v) => [v.version, v.score, v.band]), [['3.1', 9.8, 'critical'], ['3.0', 5.3, 'medium'], ['4.0', 9.3, 'critical']])
  t.equal(found.valid[1]?.vector, 'CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N', 'trailing full stop is not part of the vector')
  t.same(found.invalid, [])
  const low = scoreVector('CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N')
  t.match(low, { score: 1.6, band: 'low' })
  t.equal(band(0), 'none')
  t.equal(band(4), 'medium')
  t.equal(band(8.9), 'high')
})

t.test('invalid CVSS vectors are reported, never scored', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q', /value Q/],
    ['CVSS:3.1/AV:N/AC:L', /base metric PR missing/],
    ['CVSS:3.1/AV:N/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', /appears twice/],
    ['CVSS:3.1/AC:L/AV:N/PR:N/UI:N/S:U/C:H/I:H/A:H', /out of order/],
    ['CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', /must not be X/],
    ['CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P', /unsupported CVSS version/],
    ['CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:Q', /ZZ/],
    ['CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:Z', /value Z|E/]
  ]
  for (const [vector, reason] of cases) {
    const r = scoreVector(vector)
    t.ok('reason' in r, vector)
    if ('reason' in r) t.match(r.reason, reason, vector)
  }
  const found = findCvss('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q<script>')
  t.equal(found.valid.length, 0)
  t.equal(found.invalid.length, 1)
})

t.test('stated severity words', async (t) => {
  t.equal(statedSeverity('Severity: High\n'), 'high')
  t.equal(statedSeverity('I would rate this **Impact: critical**'), 'critical')
  t.equal(statedSeverity('Impact: critical'), 'critical')
  t.equal(statedSeverity('this is a moderate-severity issue'), 'medium')
  t.equal(statedSeverity('low risk of data loss; severity = low'), 'low')
  t.equal(statedSeverity('the high bit is set'), undefined)
})

t.test('CWE ids', async (t) => {
  t.same(findCweIds('CWE-79 and cwe 22, CWE:1321, CWE-79 again, CWE-0079, CWE-99999, CWE-0'), ['CWE-79', 'CWE-22', 'CWE-1321'])
})

t.test('GitHub logins: labelled or profile links only', async (t) => {
  t.same(findLogins('Thanks,\nRita\nGitHub: @rita-sec'), ['rita-sec'])
  t.same(findLogins('GitHub handle: bob42'), ['bob42'])
  t.same(findLogins('profile: https://github.com/carol-h\n'), ['carol-h'])
  t.same(findLogins('see https://github.com/StacklokLabs/fetch and https://github.com/settings', { owner: OWNER }), [], 'repo links and GitHub pages are not profiles')
  t.same(findLogins('ping @octocat and @StacklokLabs/security'), [], 'mentions in prose are not the reporter')
  t.same(findLogins('GitHub: @-bad- GitHub: @ok'), ['ok'], 'invalid logins dropped')
  t.same(findLogins('GitHub: https://github.com/StacklokLabs', { owner: OWNER }), [], 'the owner organisation itself is not a reporter')
  t.same(findLogins('The bug was introduced by https://github.com/alice in 2023.\nhttps://github.com/mallory\n', { owner: OWNER }), [], 'a profile the report merely links is not the reporter')
  t.same(findLogins('Found by me (https://github.com/carol-h).\nsee https://github.com/alice\n'), ['carol-h'])
  t.same(findLogins('text by https://github.com/alice\n-- \nRita\nhttps://github.com/rita-sec\n'), ['rita-sec'], 'a profile link on its own line of the signature')
})

t.test('wants to collaborate', async (t) => {
  t.ok(wantsToCollaborate("I'd be happy to help with the fix; please add me as a collaborator."))
  t.ok(wantsToCollaborate('I would like to collaborate on the advisory.'))
  t.notOk(wantsToCollaborate('Collaboration tools are affected.'))
})

t.test('publicly disclosed or exploited', async (t) => {
  t.match(findDisclosure('This is already public on Twitter.'), { publiclyDisclosed: true, exploited: false })
  t.match(findDisclosure('We have seen it exploited in the wild.'), { publiclyDisclosed: true, exploited: true })
  t.match(findDisclosure('a 0day'), { exploited: true })
  t.match(findDisclosure('There is a public PoC at https://example.org'), { publiclyDisclosed: true })
  t.match(findDisclosure('Similar to https://nvd.nist.gov/vuln/detail/CVE-2024-1234'), { publiclyDisclosed: true })
  t.match(findDisclosure('This is not yet public. No public PoC exists. I have not seen it in the wild.'), { publiclyDisclosed: false, exploited: false })
  t.same(findCveIds('CVE-2024-1234 and CVE-2024-1234, CVE-20-1'), ['CVE-2024-1234'])
})

t.test('version ranges', async (t) => {
  t.same(findVersions('Affected versions: >= 1.0.0, < 1.4.2\nFixed in 1.4.2'), { vulnerableRange: '>= 1.0.0, < 1.4.2', patched: '1.4.2' })
  t.same(findVersions('All versions before v0.3.0 are vulnerable'), { vulnerableRange: '< 0.3.0' })
  t.same(findVersions('versions 0.2.0 through 0.2.7'), { vulnerableRange: '>= 0.2.0, <= 0.2.7' })
  t.same(findVersions('Vulnerable versions: <= 0.9.1'), { vulnerableRange: '<= 0.9.1' })
  t.same(findVersions('the log says 1.2.3 crashed'), {})
})

t.test('routing file: example parses; mistakes are listed', async (t) => {
  t.ok(routing.repositories.some((r) => r.name === 'toolhive'))
  t.throws(() => parseRouting('repositories:\n  - name: ../x\n  - name: ok\n    aliases: [1]\n', { owner: OWNER }), RoutingError)
  t.throws(() => parseRouting('owner: evil\nrepositories: []', { owner: OWNER }), /not GITHUB_OWNER/)
  t.throws(() => parseRouting('{"repositories": [{"name": "a", "aliases": ["x"]}, {"name": "b", "aliases": ["x"]}]}', { json: true }), /already routes to a/)
  t.throws(() => parseRouting('repositories: [', {}), /not valid YAML/)
})

t.test('repository candidates', async (t) => {
  const names = (subject: string, text: string) => findRepoCandidates({ subject, text }, routing, OWNER).map((c) => c.repo)
  t.same(names('[fetch] SSRF', ''), ['fetch'])
  t.same(names('SSRF', 'see https://github.com/StacklokLabs/gofetch/blob/main/x.go#L10'), ['gofetch'])
  t.same(names('bug', 'import "github.com/stackloklabs/osv-mcp/pkg/osv"'), ['osv-mcp'], 'Go module path, case-insensitive owner')
  t.same(names('bug', 'npm i @stacklok/fetch-mcp'), ['fetch'], 'package name from the routing file')
  t.same(names('bug', 'thv run exposes it'), ['toolhive'], 'alias')
  t.same(names('bug', 'https://github.com/evil/toolhive-fork and github.com/other/fetch'), [], 'other owners never count')
  t.same(names('[SECURITY] [0123456789abcdef01234567] [GHSA-abcd-efgh-ijkl]', ''), [], 'mail tags and our references are no repos')
  t.same(names('[secret-repo] x', ''), ['secret-repo'], 'unlisted tag is a guess (the API decides)')
  t.same(names('x', 'https://github.com/StacklokLabs/mkp and thv'), ['mkp', 'toolhive'])
  t.same(decideRoute([], 'security-reports'), { repo: 'security-reports', routed: false, reason: 'no candidate' })
  t.same(decideRoute([{ repo: 'mkp', reasons: [], known: true }], 'security-reports'), { repo: 'mkp', routed: true, reason: 'one candidate' })
  t.equal(decideRoute([{ repo: 'a', reasons: [], known: true }, { repo: 'b', reasons: [], known: true }], 'd').reason, 'several candidates')
})

t.test('CODEOWNERS: owners of the default pattern, last one wins', async (t) => {
  const file = [
    '# comment',
    '* @alice @StacklokLabs/maintainers',
    '/docs/ @docs-writer',
    '*.go @gopher',
    '* @bob @StacklokLabs/security-team @other-org/team dev@example.com # trailing comment',
    '!* @ignored',
    '* @bad..login'
  ].join('\n')
  t.same(defaultOwners(file, OWNER), { users: ['bob'], teams: ['security-team'] })
  t.same(defaultOwners('*.js @x\n', OWNER), { users: [], teams: [] })
  t.same(defaultOwners('* @a\n*\n', OWNER), { users: [], teams: [] }, 'a pattern without owners clears ownership')
})

t.test('manifests give the package', async (t) => {
  t.same(packageFromManifest('package.json', '{"name": "@stacklok/fetch-mcp"}'), { ecosystem: 'npm', name: '@stacklok/fetch-mcp' })
  t.same(packageFromManifest('package.json', 'not json'), undefined)
  t.same(packageFromManifest('go.mod', 'module github.com/StacklokLabs/toolhive\n\ngo 1.24\n'), { ecosystem: 'go', name: 'github.com/StacklokLabs/toolhive' })
  t.same(packageFromManifest('Cargo.toml', '[workspace]\nname = "no"\n[package]\nname = "mkp"\n'), { ecosystem: 'rust', name: 'mkp' })
  t.same(packageFromManifest('pyproject.toml', '[tool.poetry]\nname = "osv-tool"\n'), { ecosystem: 'pip', name: 'osv-tool' })
  t.same(packageFromManifest('setup.py', 'setup(name="legacy-pkg", version="1")'), { ecosystem: 'pip', name: 'legacy-pkg' })
})

t.test('attachments: text-like inline, fence cannot be broken', async (t) => {
  const a = (filename: string, contentType: string, content: Buffer) => ({ filename, contentType, size: content.length, content })
  t.equal(inlineText(a('x.log', 'application/octet-stream', Buffer.from('ok\n')), 100), 'ok\n')
  t.equal(inlineText(a('x.bin', 'application/octet-stream', Buffer.from('ok')), 100), undefined)
  t.equal(inlineText(a('x.txt', 'text/plain', Buffer.from([0x66, 0, 0x67])), 100), undefined, 'NUL: binary')
  t.equal(inlineText(a('x.txt', 'text/plain', Buffer.from([0xff, 0xfe, 0x41])), 100), undefined, 'invalid UTF-8')
  t.equal(inlineText(a('x.txt', 'text/plain', Buffer.alloc(101, 0x41)), 100), undefined, 'over the size limit')
  t.equal(fenceFor('````` and ~~~'), '~~~~')
  t.equal(fenceFor('``` and ~~~~~'), '````')
})

t.test('thread references', async (t) => {
  const refs = threadRefs({
    inReplyTo: '<ack.0123456789abcdef01234567@stacklok.com>',
    references: '<orig@reporter.example> <ack.fedcba9876543210fedcba98@evil.example>',
    subject: 'Re: [89abcdef0123456789abcdef] GHSA-2345-6789-cfgh update',
    ownDomain: 'stacklok.com'
  })
  t.same(refs.intakeIds, ['0123456789abcdef01234567', '89abcdef0123456789abcdef'], 'our own domain only')
  t.same(refs.ghsaIds, ['GHSA-2345-6789-cfgh'])
  t.same(refs.messageIds, ['ack.0123456789abcdef01234567@stacklok.com', 'orig@reporter.example', 'ack.fedcba9876543210fedcba98@evil.example'])
})

t.test('triage + severity decision', async (t) => {
  const f = triage({ subject: '[fetch] SSRF', text: 'Severity: medium\nThis is already public.\nGitHub: @rita\nCWE-918' }, { routing, owner: OWNER })
  t.same(f.candidates.map((c) => c.repo), ['fetch'])
  t.same(f.cweIds, ['CWE-918'])
  t.same(f.logins, ['rita'])
  t.same(decideSeverity(f), { severity: 'high', floor: 'high', low: false }, 'public disclosure raises medium to high')
  const v = triage({ subject: 'x', text: 'CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N severity: critical' }, { routing, owner: OWNER })
  const d = decideSeverity(v)
  t.equal(d.vector?.vector, 'CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N')
  t.equal(d.severity, undefined, 'never both')
  t.equal(d.low, true, 'under 4.0 is low')
  const none = decideSeverity(triage({ subject: 'x', text: 'hello' }, { routing, owner: OWNER }))
  t.same(none, { low: false })
})

t.test('hostile text: bounded and linear', async (t) => {
  const big = 'CVSS:3.1/'.repeat(50_000) + 'github.com/StacklokLabs/'.repeat(20_000) + '@'.repeat(100_000) + '[a]'.repeat(10_000)
  const f = triage({ subject: '['.repeat(5000), text: big }, { routing, owner: OWNER })
  t.ok(f.cvss.invalid.length <= 5)
  t.ok(f.candidates.length <= 8)
})
