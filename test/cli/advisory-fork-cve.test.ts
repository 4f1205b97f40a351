// Issue 9, points 1 and 2: the temporary private fork (by policy at creation, or
// `intake advisory fork`) and `intake advisory request-cve`, against the
// schema-validating GitHub stub, which keeps each repository's visibility.
import t from 'tap'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as openpgp from 'openpgp'
import { advisoryCommand } from '../../src/cli/advisory.js'
import { reportEvents } from '../../src/store/events.js'
import { forkOnCreation } from '../../src/advisory/private-fork.js'
import { advisorySchemaErrors } from '../helpers/github-stub.js'
import { report, world, type World } from '../helpers/advisory-world.js'

const CRITICAL = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' // 9.8
const MEDIUM = 'CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:U/C:L/I:L/A:N' // 4.6

async function run (w: World, args: string[], config = w.gw.config()): Promise<{ code: number, out: string }> {
  let out = ''
  const code = await advisoryCommand(config, args, (s) => { out += s })
  return { code, out }
}

const events = (w: World, intakeId: string) => reportEvents(w.gw.redis, w.gw.prefix).list(intakeId)
const createBody = (w: World) => w.stub.requests.find((r) => r.method === 'POST' && /\/security-advisories$/.test(r.path))?.body as Record<string, unknown>
const posts = (w: World, suffix: string) => w.stub.requests.filter((r) => r.method === 'POST' && r.path.endsWith(suffix))

t.test('policy: never, always, or a severity and above; unknown severity never forks', async (t) => {
  t.equal(forkOnCreation('never', 'critical'), false)
  t.equal(forkOnCreation('always', undefined), true)
  t.equal(forkOnCreation('high', 'critical'), true)
  t.equal(forkOnCreation('high', 'high'), true)
  t.equal(forkOnCreation('high', 'medium'), false)
  t.equal(forkOnCreation('critical', 'high'), false)
  t.equal(forkOnCreation('low', 'low'), true)
  t.equal(forkOnCreation('medium', undefined), false)
  t.equal(forkOnCreation('medium', 'constructor'), false, 'not a severity')
})

t.test('policy hit: a critical CVSS vector with PRIVATE_FORK_POLICY=high files the advisory with its fork', async (t) => {
  const w = await world(t, { PRIVATE_FORK_POLICY: 'high' })
  const { intakeId, ghsaId } = await report(w, CRITICAL)
  t.equal(createBody(w).cvss_vector_string, CRITICAL)
  t.equal(createBody(w).start_private_fork, true, 'start_private_fork in the create body')
  t.match(await events(w, intakeId), [{ kind: 'received' }, { kind: 'decrypted' }, { kind: 'advisory-created' }, { kind: 'fork-created', detail: 'requested at creation (policy high)' }])

  // The fork command then finds the fork on the advisory and asks for nothing.
  const fork = await run(w, ['fork', ghsaId])
  t.equal(fork.code, 0)
  t.match(fork.out, `already has its temporary private fork: acme/security-reports-${ghsaId.toLowerCase()}`)
  t.match(fork.out, 'already on the report\'s timeline')
  t.equal(posts(w, '/forks').length, 0, 'no fork request')
  t.equal((await events(w, intakeId)).filter((e) => e.kind === 'fork-created').length, 1)
  t.same(w.stub.invalidRequests, [])
})

t.test('policy miss: a medium vector with PRIVATE_FORK_POLICY=critical, and the default (never) with a critical one', async (t) => {
  const w = await world(t, { PRIVATE_FORK_POLICY: 'critical' })
  const { intakeId } = await report(w, MEDIUM)
  t.equal(createBody(w).cvss_vector_string, MEDIUM)
  t.notOk('start_private_fork' in createBody(w), 'no start_private_fork')
  t.notOk((await events(w, intakeId)).some((e) => e.kind === 'fork-created'))
  t.equal(w.stub.advisories[0]?.private_fork, null)

  const d = await world(t)
  const other = await report(d, CRITICAL)
  t.notOk('start_private_fork' in createBody(d), 'the default policy is never')
  t.notOk((await events(d, other.intakeId)).some((e) => e.kind === 'fork-created'))
})

t.test('advisory fork: creates the fork on demand, prints it, records it once; a second run asks nothing', async (t) => {
  const w = await world(t)
  const { intakeId, ghsaId } = await report(w, 'x')
  const first = await run(w, ['fork', ghsaId])
  t.equal(first.code, 0, first.out)
  const name = `acme/security-reports-${ghsaId.toLowerCase()}`
  t.match(first.out, `temporary private fork requested: ${name}`)
  t.match(first.out, `https://github.com/${name}`)
  t.equal(posts(w, `/security-advisories/${ghsaId}/forks`).length, 1)
  t.equal(posts(w, '/forks')[0]?.status, 202)
  const answered = w.stub.forks.get(ghsaId)
  t.match(answered, { full_name: name, private: true, visibility: 'private' })
  // (Severity set: this report states none, and the stub then answers null, which the schema's enum refuses.)
  t.same(advisorySchemaErrors({ ...w.stub.advisories[0], severity: 'high' }), [], 'the advisory with its private_fork is a valid repository-advisory')
  t.match(w.stub.advisories[0]?.private_fork, { full_name: name, private: true })
  t.match(await events(w, intakeId), [{}, {}, {}, {}, {}, { kind: 'fork-created', detail: name }])

  const again = await run(w, ['fork', ghsaId.toLowerCase().replace('ghsa', 'GHSA')])
  t.equal(again.code, 0)
  t.match(again.out, `already has its temporary private fork: ${name}`)
  t.equal(posts(w, '/forks').length, 1, 'no second fork request')
  t.equal((await events(w, intakeId)).filter((e) => e.kind === 'fork-created').length, 1, 'recorded once')

  const timeline = await run(w, ['timeline', ghsaId])
  t.match(timeline.out, `temporary private fork created  (${name})`)
  t.same(w.stub.invalidRequests, [])
})

t.test('advisory fork: GitHub\'s 422 is explained, nothing recorded', async (t) => {
  const w = await world(t)
  const { intakeId, ghsaId } = await report(w, 'x')
  w.stub.failNext(422, 1, {}, { method: 'POST', message: 'Validation Failed' })
  const res = await run(w, ['fork', ghsaId])
  t.equal(res.code, 1)
  t.match(res.out, /GitHub create the private fork of GHSA-\S+ failed: 422 Validation Failed/)
  t.match(res.out, 'GitHub refused the fork: one may already exist or be in progress')
  t.notOk((await events(w, intakeId)).some((e) => e.kind === 'fork-created'))
})

t.test('request-cve: public repository -> requested and recorded; a second run does not ask again', async (t) => {
  const w = await world(t)
  const { intakeId, ghsaId } = await report(w, 'x')
  const res = await run(w, ['request-cve', ghsaId])
  t.equal(res.code, 0, res.out)
  t.match(res.out, `CVE requested for ${ghsaId}`)
  t.ok(w.stub.requests.some((r) => r.method === 'GET' && r.path === '/repos/acme/security-reports'), 'visibility read first')
  t.equal(posts(w, `/security-advisories/${ghsaId}/cve`).length, 1)
  t.equal(posts(w, '/cve')[0]?.status, 202)
  t.ok(w.stub.cveRequests.has(ghsaId))
  t.match((await events(w, intakeId)).filter((e) => e.kind === 'cve-requested'), [{ detail: 'requested from GitHub' }])

  const again = await run(w, ['request-cve', ghsaId])
  t.equal(again.code, 0)
  t.match(again.out, 'a CVE was already requested')
  t.equal(posts(w, '/cve').length, 1, 'not asked twice')
  t.same(w.stub.invalidRequests, [])
})

t.test('request-cve: a private repository is refused with a clear message, without calling the CVE endpoint', async (t) => {
  const w = await world(t)
  const { intakeId, ghsaId } = await report(w, 'x')
  w.stub.setVisibility('acme/security-reports', 'private')
  const res = await run(w, ['request-cve', ghsaId])
  t.equal(res.code, 1)
  t.match(res.out, 'acme/security-reports is a private repository: GitHub requests CVEs for public repositories only')
  t.equal(posts(w, '/cve').length, 0, 'the CVE endpoint was not called')
  t.notOk((await events(w, intakeId)).some((e) => e.kind === 'cve-requested'))

  // The stub refuses it like GitHub, had the gateway asked.
  const direct = await fetch(`${w.stub.url}/repos/acme/security-reports/security-advisories/${ghsaId}/cve`, { method: 'POST', headers: { authorization: 'token ghp_test' } })
  t.equal(direct.status, 422)
  t.equal(w.stub.invalidRequests.length, 1)
})

t.test('request-cve: GitHub\'s 422 (requested in the UI already, advisory closed) is explained; a CVE already on the advisory asks nothing', async (t) => {
  const w = await world(t)
  const { intakeId, ghsaId } = await report(w, 'x')
  // A maintainer requested one in GitHub's UI.
  const ui = await fetch(`${w.stub.url}/repos/acme/security-reports/security-advisories/${ghsaId}/cve`, { method: 'POST', headers: { authorization: 'token ghp_test' } })
  t.equal(ui.status, 202)
  const refused = await run(w, ['request-cve', ghsaId])
  t.equal(refused.code, 1)
  t.match(refused.out, 'failed: 422 A CVE has already been requested for this advisory.')
  t.match(refused.out, 'GitHub refused the CVE request: one may already have been requested')
  t.notOk((await events(w, intakeId)).some((e) => e.kind === 'cve-requested'))

  w.stub.changeAdvisory(ghsaId, { cve_id: 'CVE-2026-40001' })
  const has = await run(w, ['request-cve', ghsaId])
  t.equal(has.code, 0)
  t.match(has.out, `${ghsaId} already has CVE-2026-40001: nothing requested`)
  t.equal(posts(w, '/cve').length, 2, 'the UI request and the refused one only')

  const c = await world(t)
  const closed = await report(c, 'y')
  c.stub.changeAdvisory(closed.ghsaId, { state: 'closed' })
  const res = await run(c, ['request-cve', closed.ghsaId])
  t.equal(res.code, 1)
  t.match(res.out, 'state (closed, withdrawn) does not allow one')
  t.same(c.stub.invalidRequests, [])
})

t.test('without GitHub credentials the GitHub steps say so', async (t) => {
  const w = await world(t)
  const { ghsaId } = await report(w, 'x')
  const config = w.gw.config()
  const offline = { ...config, github: { apiUrl: config.github.apiUrl } }
  // notify-distributors reads its list and checks the release day first.
  const dir = await mkdtemp(join(tmpdir(), 'no-github-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const key = await openpgp.generateKey({ userIDs: [{ email: 'd@d.example' }], format: 'armored' })
  await writeFile(join(dir, 'list.yaml'), `distributors:\n  - name: D\n    email: d@d.example\n    key_armored: ${JSON.stringify(key.publicKey)}\n`)
  t.equal((await run(w, ['schedule', ghsaId])).code, 0)
  // Said one way by every step that needs GitHub.
  for (const sub of ['fork', 'request-cve', 'announce', 'notify-distributors']) {
    const res = await run(w, [sub, ghsaId], { ...offline, distributorsFile: join(dir, 'list.yaml') })
    t.equal(res.code, 1, sub)
    t.match(res.out, 'no GitHub credentials configured (GITHUB_TOKEN or a GitHub App)', sub)
  }
  t.equal(posts(w, '/forks').length + posts(w, '/cve').length, 0)
})

t.test('a flag a step does not take is refused before anything runs: request-cve --dry-run requests nothing', async (t) => {
  const w = await world(t)
  const { intakeId, ghsaId } = await report(w, 'x')
  const before = w.stub.requests.length
  for (const [args, takes] of [
    [['request-cve', ghsaId, '--dry-run'], 'request-cve takes no flags'],
    [['fork', ghsaId, '--dry-run'], 'fork takes no flags'],
    [['timeline', ghsaId, '--jsn'], 'timeline takes --json'],
    [['announce', ghsaId, '--dryrun'], 'announce takes --dry-run and --force']
  ] as const) {
    const res = await run(w, [...args])
    t.equal(res.code, 2, args.join(' '))
    t.match(res.out, `unknown flag ${args[2]}: ${takes}`)
  }
  t.equal(w.stub.requests.length, before, 'GitHub was not asked anything')
  t.equal(posts(w, '/cve').length + posts(w, '/forks').length, 0)
  t.notOk((await events(w, intakeId)).some((e) => e.kind === 'cve-requested' || e.kind === 'fork-created'))
})
