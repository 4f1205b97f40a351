// The advisory pieces triage adds, without the pipeline: inline attachments within
// GitHub's description limit, follow-up sections at the limit, the triage table with
// hostile values, the cached repository facts against the stub, the outbox update.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { renderAdvisory } from '../../src/advisory/render.js'
import { followUpMarker, followUpSection } from '../../src/advisory/follow-up-section.js'
import { triageSection } from '../../src/advisory/triage-section.js'
import { enrich } from '../../src/advisory/enrich.js'
import { githubFacts, offlineFacts } from '../../src/advisory/repo-facts.js'
import { outboxSink } from '../../src/advisory/sink.js'
import { createOctokit, type Log } from '../../src/advisory/github-client.js'
import { parseRouting } from '../../src/triage/routing.js'
import { limits } from '../../src/domain/limits.js'
import type { OpenedReport } from '../../src/domain/report.js'
import { startGithubStub } from '../helpers/github-stub.js'

const quiet: Log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} }
const meta = { intakeId: '0123456789abcdef01234567', receivedAt: new Date('2026-11-28T10:00:00Z') }

function report (over: Partial<OpenedReport> = {}): OpenedReport {
  return {
    references: [],
    subject: 'bug',
    from: { address: 'rita@example.org' },
    headers: new Map(),
    encrypted: false,
    signature: { state: 'unsigned' },
    text: 'text\n',
    attachments: [],
    ...over
  }
}

const attachment = (filename: string, content: string, contentType = 'text/plain') => ({ filename, contentType, size: Buffer.byteLength(content), sha256: 'ab'.repeat(32), content: Buffer.from(content) })

t.test('inline attachments: shown when they fit, only listed when the text needs the room', async (t) => {
  const small = renderAdvisory(report({ attachments: [attachment('a.log', 'LOG-LINE\n')] }), meta, { inline: new Map([[0, 'LOG-LINE\n']]) })
  t.match(small.description, '```text\nLOG-LINE\n```')
  t.match(small.description, '| inline below |')
  const bigText = 'x'.repeat(64_000)
  const big = renderAdvisory(report({ text: bigText, attachments: [attachment('a.log', 'L'.repeat(5000))] }), meta, { inline: new Map([[0, 'L'.repeat(5000)]]) })
  t.ok(big.description.length <= limits.descriptionChars, 'within GitHub\'s limit')
  t.notMatch(big.description, 'LLLLLLLLLL', 'the attachment gave way to the text')
  t.match(big.description, '| sealed |')
  const huge = renderAdvisory(report({ text: 'y'.repeat(200_000) }), meta)
  t.ok(huge.description.length <= limits.descriptionChars)
  t.match(huge.description, /\[truncated: \d+ of 200000 characters shown; full text in the sealed intake 0123456789abcdef01234567\]/)
})

t.test('follow-up sections respect the 65,535 limit', async (t) => {
  const long = report({ text: 'z'.repeat(30_000) })
  const nearlyFull = 'd'.repeat(limits.descriptionChars - 5000)
  const section = followUpSection(long, { ...meta, sameSender: true }, nearlyFull)
  if (section === undefined) return t.fail('a cut section fits')
  t.ok(nearlyFull.length + section.length <= limits.descriptionChars)
  t.match(section, followUpMarker(meta.intakeId))
  t.match(section, /\[truncated: \d+ of 30000 characters shown/)
  const almost = followUpSection(long, { ...meta, sameSender: true }, 'd'.repeat(limits.descriptionChars - 450))
  t.ok(almost !== undefined && almost.includes('not shown: the description is at GitHub\'s limit'), 'only a notice fits')
  t.equal(followUpSection(long, { ...meta, sameSender: true }, 'd'.repeat(limits.descriptionChars - 100)), undefined, 'nothing fits')
  const fence = followUpSection(report({ text: '`````\n| Same sender as the report | yes |\n<!-- follow-up-intake-id: ffffffffffffffffffffffff -->\n' }), { ...meta, sameSender: false }, '')
  t.match(fence, '~~~text\n`````', 'a fence its content cannot close')
  t.notMatch(fence, '<!-- follow-up-intake-id: ffffffffffffffffffffffff -->', 'a forged marker is broken')
  t.match(fence, '**NO: a different address sent this follow-up**')
})

t.test('triage table: hostile values stay in code spans', async (t) => {
  const routing = parseRouting('repositories: [{name: fetch}]')
  const e = await enrich(report({
    subject: '[fetch] x',
    text: 'GitHub: @evil-login\nCVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:`|<b>\nAffected versions: < 1.0.0|<script>\n'
  }), { facts: offlineFacts(routing, 'security-reports'), routing, owner: 'StacklokLabs', defaultRepo: 'security-reports', inlineAttachmentBytes: 0 })
  const lines = triageSection(e, 'StacklokLabs')
  for (const line of lines.filter((l) => l.startsWith('| '))) {
    // A row has exactly three unescaped pipes outside code spans: | key | value |
    const outside = line.replace(/(`+) .*? \1/g, '')
    t.equal(outside.split('|').length - 1, 3, line.slice(0, 60))
  }
  t.match(lines.join('\n'), '` evil-login ` **not found**')
})

t.test('repository facts: read through the API once, 404 is absent, organisations are no users', async (t) => {
  const stub = await startGithubStub({ token: 't', repos: ['o/r'], files: { 'o/r': { 'go.mod': 'module example.com/r\n', '.github/CODEOWNERS': '* @u1 @o/team\n' } }, users: ['u1'], orgs: ['o'], teams: ['o/team'] })
  t.teardown(stub.close)
  const facts = githubFacts(createOctokit({ baseUrl: stub.url, auth: 't', log: quiet, retries: 0, throttle: false }), 'o', quiet)
  for (let i = 0; i < 3; i++) {
    t.equal(await facts.repoExists('r'), true)
    t.equal(await facts.repoExists('missing'), false)
    t.same(await facts.package('r'), { ecosystem: 'go', name: 'example.com/r' })
    t.same(await facts.owners('r'), { users: ['u1'], teams: ['team'] })
    t.equal(await facts.user('U1'), 'u1', 'canonical spelling')
    t.equal(await facts.user('o'), undefined, 'an organisation is not a user')
    t.equal(await facts.teamExists('team'), true)
  }
  const paths = stub.requests.map((r) => r.path)
  t.equal(new Set(paths).size, paths.length, 'each read once (cached)')
  t.same(stub.invalidRequests, [])
})

t.test('repo facts: a repository moved out of the owner (GitHub redirects) does not exist for routing', async (t) => {
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers })
      res.end(JSON.stringify(body))
    }
    if (req.url === '/repos/o/moved') return send(301, { message: 'Moved Permanently', url: '/repos/other/moved' }, { location: '/repos/other/moved' })
    if (req.url === '/repos/o/renamed') return send(301, { message: 'Moved Permanently', url: '/repos/o/new-name' }, { location: '/repos/o/new-name' })
    if (req.url === '/repos/other/moved') return send(200, { name: 'moved', full_name: 'other/moved', owner: { login: 'other' } })
    if (req.url === '/repos/o/new-name') return send(200, { name: 'new-name', full_name: 'o/new-name', owner: { login: 'o' } })
    if (req.url === '/repos/o/here') return send(200, { name: 'Here', full_name: 'o/Here', owner: { login: 'O' } })
    send(404, { message: 'Not Found' })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const { port } = server.address() as AddressInfo
  const facts = githubFacts(createOctokit({ baseUrl: `http://127.0.0.1:${port}`, auth: 't', log: quiet, retries: 0, throttle: false }), 'o', quiet)
  t.equal(await facts.repoExists('moved'), false, 'transferred to another owner')
  t.equal(await facts.repoExists('renamed'), false, 'renamed: the old name is not where an advisory can be filed')
  t.equal(await facts.repoExists('here'), true, 'owner and name compared case-insensitively')
})

t.test('outbox sink: description and update for follow-ups and collaborators', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'outbox-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const sink = outboxSink(dir)
  const ref = await sink.create({ owner: 'o', repo: 'r', intakeId: 'abc', body: { summary: 's', description: 'first', vulnerabilities: [{ package: { ecosystem: 'other' } }] } })
  const where = { owner: 'o', repo: 'r', ghsaId: ref.ghsaId }
  t.same(await sink.read(where), { description: 'first', state: 'draft' })
  await sink.update(where, { description: 'first+second', collaborating_users: ['u'] })
  const body = JSON.parse(readFileSync(join(dir, 'advisories', 'abc.json'), 'utf8'))
  t.same([body.description, body.collaborating_users], ['first+second', ['u']])
  await t.rejects(sink.read({ ...where, ghsaId: 'GHSA-../../x' }), /not an outbox advisory/)
})
