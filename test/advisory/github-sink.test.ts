import t, { type Test } from 'tap'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { inspect } from 'node:util'
import { createOctokit, type GithubClientOptions, type Log } from '../../src/advisory/github-client.js'
import { intakeMarker } from '../../src/advisory/marker.js'
import { AdvisoryPermanentError, AdvisoryTransientError, githubSink, toAdvisoryError, type AdvisoryCreateBody } from '../../src/advisory/sink.js'
import { advisorySchemaErrors, startGithubStub } from '../helpers/github-stub.js'

const CANARY = 'CANARY-7f3a-report-text'
const GHSA = /^GHSA(-[23456789cfghjmpqrvwx]{4}){3}$/

function memoryLog () {
  const lines: Array<{ level: string, obj: object, msg?: string }> = []
  const at = (level: string) => (obj: object, msg?: string) => { lines.push({ level, obj, ...(msg === undefined ? {} : { msg }) }) }
  const log: Log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
  return { log, lines }
}

function createBody (intakeId: string, extra: Partial<AdvisoryCreateBody> = {}): AdvisoryCreateBody {
  return {
    summary: 'Stored XSS in the widget settings page',
    description: `${intakeMarker(intakeId)}\n\n## Report\n\n${CANARY}: the settings page renders the name unescaped.`,
    vulnerabilities: [{ package: { ecosystem: 'npm', name: 'widget' }, vulnerable_version_range: '< 2.4.1', patched_versions: null, vulnerable_functions: null }],
    cwe_ids: ['CWE-79'],
    credits: [{ login: 'reporter-handle', type: 'reporter' }],
    severity: 'high',
    ...extra
  }
}

// Throttling is off by default here: its shared write limiter spaces POSTs 1 s apart
// across every Octokit in the process. The rate-limit tests turn it back on.
async function setup (t: Test, client: Partial<GithubClientOptions> = {}) {
  const stub = await startGithubStub({ repos: ['acme/widget'], token: 'test-token' })
  t.teardown(stub.close)
  const { log, lines } = memoryLog()
  const octokit = createOctokit({ baseUrl: stub.url, auth: 'test-token', log, retryBaseMs: 10, throttle: false, ...client })
  const sink = githubSink(octokit, log)
  const req = (intakeId: string, body = createBody(intakeId)) => ({ owner: 'acme', repo: 'widget', intakeId, body })
  const posts = () => stub.requests.filter(r => r.method === 'POST')
  return { stub, octokit, sink, lines, req, posts }
}

async function closedPortUrl (): Promise<string> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return `http://127.0.0.1:${port}`
}

async function failure (p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a rejection')
}

function assertNoLeak (t: Test, err: unknown, lines: unknown[]) {
  t.notOk(inspect(err, { depth: 20, showHidden: true }).includes(CANARY), 'report text is not in the error, its properties or cause')
  t.notOk(JSON.stringify(lines).includes(CANARY), 'report text is not logged')
}

t.test('a valid create lands in the stub, schema-valid, after looking for an existing one', async (t) => {
  const { stub, sink, lines, req } = await setup(t)
  const ref = await sink.create(req('intake-1'))
  t.equal(ref.created, true)
  t.match(ref.ghsaId, GHSA)
  t.equal(ref.htmlUrl, `https://github.com/acme/widget/security/advisories/${ref.ghsaId}`)
  t.same(stub.requests.map(r => `${r.method} ${r.query.state ?? ''} ${r.status}`), ['GET draft 200', 'POST  201'])
  t.same(stub.requests[0]?.query, { state: 'draft', sort: 'created', direction: 'desc', per_page: '100' })
  t.equal(stub.invalidRequests.length, 0)
  t.equal(stub.advisories.length, 1)
  const stored = stub.advisories[0]
  t.equal(stored?.description, createBody('intake-1').description)
  t.same(advisorySchemaErrors(stored), [], 'the stub answers with a valid repository-advisory')
  t.match(stub.requests[1]?.headers.authorization, /^token test-token$/)
  t.ok(lines.some(l => l.level === 'debug' && (l.obj as { status?: number }).status === 201), 'request logged at debug')
  t.notOk(JSON.stringify(lines).includes(CANARY), 'no report text in logs')
})

t.test('lookupFirst: false posts straight away; a CVSS vector instead of severity is valid', async (t) => {
  const { stub, sink, req } = await setup(t)
  const { severity, ...rest } = createBody('intake-2')
  t.equal(severity, 'high')
  const body = { ...rest, cvss_vector_string: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N' }
  const ref = await sink.create(req('intake-2', body), { lookupFirst: false })
  t.equal(ref.created, true)
  t.same(stub.requests.map(r => r.method), ['POST'])
  t.same(stub.requests[0]?.body, body, 'the exact body reached GitHub')
  t.equal(stub.invalidRequests.length, 0)
})

t.test('the stub validates every body against GitHub\'s schema and rules', async (t) => {
  const { stub } = await setup(t)
  const post = (body: unknown, auth = 'token test-token') => fetch(`${stub.url}/repos/acme/widget/security-advisories`, {
    method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body)
  })
  const base = { summary: 's', description: 'd', vulnerabilities: [{ package: { ecosystem: 'other' } }] }

  t.equal((await post(base)).status, 201, 'the smallest valid body')
  t.equal(stub.invalidRequests.length, 0)

  const unknown = await post({ ...base, reporter_email: 'x@example.org' })
  t.equal(unknown.status, 422)
  t.match(await unknown.json(), { message: 'Validation Failed', errors: [{ resource: 'RepositoryAdvisory', field: 'reporter_email', code: 'invalid' }] })

  const { description, ...noDescription } = base
  t.equal(description, 'd')
  const missing = await post(noDescription)
  t.match(await missing.json(), { errors: [{ field: 'description', code: 'missing_field' }] })

  t.equal((await post({ ...base, vulnerabilities: [{ package: { ecosystem: 'cargo' } }] })).status, 422, 'ecosystem enum')
  t.equal((await post({ ...base, severity: null })).status, 422, 'severity: null')
  t.equal((await post({ ...base, severity: 'low', cvss_vector_string: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:L' })).status, 422, 'severity and cvss together')
  t.equal(stub.invalidRequests.length, 5)
  t.match(stub.invalidRequests[0]?.invalid, ['reporter_email: must NOT have additional properties'])

  t.equal((await post(base, '')).status, 401, 'authorization required')
  t.equal((await post(base, 'token wrong')).status, 401)
  const repo = await fetch(`${stub.url}/repos/acme/other`, { headers: { authorization: 'token test-token' } })
  t.equal(repo.status, 404)
  t.equal(stub.advisories.length, 1)
})

t.test('rejected body: AdvisoryPermanentError names status and fields, never the report text', async (t) => {
  const { stub, octokit, sink, lines, req } = await setup(t)
  const bad = { ...createBody('intake-3'), reporter_email: 'someone@example.org' } as AdvisoryCreateBody
  const err = await failure(sink.create(req('intake-3', bad), { lookupFirst: false }))
  t.type(err, AdvisoryPermanentError)
  t.match(err.message, /422 Validation Failed \[reporter_email:invalid\]/)
  t.equal((err as AdvisoryPermanentError).status, 422)
  assertNoLeak(t, err, lines)

  // GitHub echoes invalid values in errors[].value; Octokit puts them in its message.
  const tooLong = createBody('intake-4', { description: `${intakeMarker('intake-4')} ${CANARY} ${'x'.repeat(65_535)}` })
  const raw = await failure(octokit.request('POST /repos/{owner}/{repo}/security-advisories', { owner: 'acme', repo: 'widget', ...tooLong } as never))
  t.ok(raw.message.includes(CANARY), 'proof: the raw Octokit error would leak the report')
  const err2 = await failure(sink.create(req('intake-4', tooLong), { lookupFirst: false }))
  t.type(err2, AdvisoryPermanentError)
  t.match(err2.message, /\[description:invalid\]/)
  assertNoLeak(t, err2, lines)
  t.equal(stub.invalidRequests.length, 3)
  t.equal(stub.advisories.length, 0)
})

t.test('other permanent and transient failures', async (t) => {
  const { stub, sink, req, posts } = await setup(t)
  const missingRepo = await failure(sink.create({ ...req('intake-5'), repo: 'nope' }))
  t.type(missingRepo, AdvisoryPermanentError, '404: repo missing or no access')

  stub.failNext(403, 1, {}, { method: 'POST', message: 'Resource not accessible by integration' })
  const forbidden = await failure(sink.create(req('intake-5'), { lookupFirst: false }))
  t.type(forbidden, AdvisoryPermanentError, '403 that is not a rate limit')
  t.match(forbidden.message, /403 Resource not accessible by integration/)

  const unmarked = createBody('intake-5', { description: 'no marker here' })
  t.rejects(sink.create(req('intake-5', unmarked)), AdvisoryPermanentError, 'a body without the intake marker is refused')

  const closed = createOctokit({ baseUrl: await closedPortUrl(), auth: 'x', log: memoryLog().log, retries: 0, throttle: false })
  const network = await failure(githubSink(closed, memoryLog().log).create(req('intake-5')))
  t.type(network, AdvisoryTransientError)
  t.notOk(network instanceof AdvisoryPermanentError)
  t.match(network.message, /network error \(ECONNREFUSED\)/)
  t.equal(posts().length, 1)
})

t.test('500 once on the lookup: the retry plugin retries it', async (t) => {
  const { stub, sink, req, lines } = await setup(t)
  stub.failNext(500, 1, {}, { method: 'GET' })
  const ref = await sink.create(req('intake-6'))
  t.equal(ref.created, true)
  t.same(stub.requests.map(r => `${r.method} ${r.status}`), ['GET 500', 'GET 200', 'POST 201'])
  t.equal(lines.filter(l => l.msg === 'github request failed').length, 1, 'each attempt is logged')
})

t.test('500 on the POST: transient error, no blind re-POST; the job retry succeeds', async (t) => {
  const { stub, sink, req, posts } = await setup(t)
  stub.failNext(500, 1, {}, { method: 'POST' })
  const err = await failure(sink.create(req('intake-7'), { lookupFirst: false }))
  t.type(err, AdvisoryTransientError)
  t.equal((err as AdvisoryTransientError).status, 500)
  t.equal(posts().length, 1, 'the POST is not retried in-process')
  const ref = await sink.create(req('intake-7'), { lookupFirst: true })
  t.equal(ref.created, true)
  t.equal(stub.advisories.length, 1)
})

t.test('502 after GitHub created it (lost response): the retry finds it, no duplicate', async (t) => {
  const { stub, sink, req, posts } = await setup(t)
  stub.failNext(502, 1, {}, { method: 'POST', applied: true })
  await t.rejects(sink.create(req('intake-8'), { lookupFirst: false }), AdvisoryTransientError)
  t.equal(stub.advisories.length, 1, 'GitHub did create it')
  const ref = await sink.create(req('intake-8'), { lookupFirst: true })
  t.equal(ref.created, false)
  t.equal(ref.ghsaId, stub.advisories[0]?.ghsa_id)
  t.equal(posts().length, 1)
})

t.test('crash recovery: an advisory carrying the marker is found across pages and states', async (t) => {
  const { stub, sink, req, posts } = await setup(t)
  const old = new Date(Date.now() - 3600_000)
  const mine = stub.seedAdvisory({ owner: 'acme', repo: 'widget', body: createBody('intake-9'), createdAt: old })
  for (let i = 0; i < 120; i++) {
    stub.seedAdvisory({ owner: 'acme', repo: 'widget', body: createBody(`other-${i}`) })
  }
  const ref = await sink.create(req('intake-9'))
  t.same(ref, { ghsaId: mine.ghsa_id, htmlUrl: mine.html_url, created: false })
  t.equal(posts().length, 0, 'no POST')
  t.same(stub.requests.map(r => r.query.after === undefined ? 'page1' : 'next'), ['page1', 'next'], 'followed the Link cursor to page 2')

  // Outsiders write `triage` advisories (private vulnerability reporting): a marker
  // planted there, or anywhere but the start of a draft, must not capture a report.
  stub.seedAdvisory({ owner: 'acme', repo: 'widget', body: createBody('intake-10'), state: 'triage' })
  stub.seedAdvisory({ owner: 'acme', repo: 'widget', body: { ...createBody('x'), description: `hello\n${intakeMarker('intake-10')}` } })
  const ref2 = await sink.create(req('intake-10'))
  t.equal(ref2.created, true, 'a planted marker is not taken for our advisory')
  const fresh = await sink.create(req('intake-1'))
  t.equal(fresh.created, true, 'intake-1 does not match the marker of intake-10')
  t.equal(stub.invalidRequests.length, 0)
})

t.test('secondary rate limit: retry-after is honoured, nothing is sent during the wait', async (t) => {
  const { stub, sink, req, posts, lines } = await setup(t, { throttle: true })
  stub.failNext(403, 1, { 'retry-after': '1' }, { method: 'POST' })
  const start = Date.now()
  const ref = await sink.create(req('intake-11'), { lookupFirst: false })
  t.equal(ref.created, true)
  const [first, second] = posts()
  t.same(posts().map(r => r.status), [403, 201])
  t.ok((second?.at ?? 0) - (first?.at ?? 0) >= 1000, 'waited retry-after before the retry')
  t.ok(Date.now() - start >= 1000)
  t.same(stub.violations, [])
  t.ok(lines.some(l => l.level === 'warn' && l.msg === 'github secondary rate limit'))
})

t.test('stub rate limiter: the client backs off and stays under it', async (t) => {
  const { stub, sink, req, posts } = await setup(t, { throttle: true })
  stub.setRateLimit({ perMinute: 1, windowMs: 1500 })
  await sink.create(req('intake-12'), { lookupFirst: false })
  await sink.create(req('intake-13'), { lookupFirst: false })
  t.ok(posts().some(r => r.status === 403), 'the limit was hit')
  t.equal(stub.advisories.length, 2)
  t.same(stub.violations, [])
})

t.test('with throttling off the caller sees the raw limit as a transient error', async (t) => {
  const { stub, sink, req, posts } = await setup(t, { throttle: false, retries: 0 })
  stub.failNext(403, 1, { 'retry-after': '7' }, { method: 'POST' })
  const err = await failure(sink.create(req('intake-14'), { lookupFirst: false }))
  t.type(err, AdvisoryTransientError)
  t.equal((err as AdvisoryTransientError).retryAfterMs, 7000)
  t.match(err.message, /403 You have exceeded a secondary rate limit/)
  t.equal(posts().length, 1)
  t.same(stub.violations, [])
  await t.rejects(sink.create(req('intake-14'), { lookupFirst: false }), AdvisoryTransientError)
  t.equal(stub.violations.length, 1, 'the stub notices a client that does not wait')
})

t.test('stub PATCH: validated against the update schema and GitHub\'s severity rules', async (t) => {
  const { stub, octokit, sink, req } = await setup(t)
  const { ghsaId } = await sink.create(req('intake-15'), { lookupFirst: false })
  const update = (body: object) => octokit.request('PATCH /repos/{owner}/{repo}/security-advisories/{ghsa_id}', { owner: 'acme', repo: 'widget', ghsa_id: ghsaId, ...body } as never)
  const res = await update({ cvss_vector_string: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', severity: undefined, collaborating_users: ['octocat'] })
  t.equal(res.status, 200)
  t.same(advisorySchemaErrors(res.data), [])
  const status = async (p: Promise<unknown>) => ((await failure(p)) as Error & { status?: number }).status
  t.equal(await status(update({ severity: 'low' })), 422, 'severity is fixed once a CVSS vector is set')
  t.equal(await status(update({ state: 'archived' })), 422)
  t.equal(await status(octokit.request('GET /repos/{owner}/{repo}/security-advisories/{ghsa_id}', { owner: 'acme', repo: 'widget', ghsa_id: 'GHSA-2222-2222-2222' })), 404)
  t.equal(stub.invalidRequests.length, 2)
})

t.test('a primary limit resetting far ahead is not waited out in-process', async (t) => {
  const { stub, sink, req, posts, lines } = await setup(t, { throttle: true })
  const reset = Math.ceil(Date.now() / 1000) + 3600
  stub.failNext(403, 1, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) }, { method: 'POST', message: 'API rate limit exceeded for user ID 1.' })
  const err = await failure(sink.create(req('intake-16'), { lookupFirst: false }))
  t.type(err, AdvisoryTransientError)
  t.ok(((err as AdvisoryTransientError).retryAfterMs ?? 0) > 3500_000, 'the queue learns when to come back')
  t.equal(posts().length, 1)
  t.ok(lines.some(l => l.msg === 'github primary rate limit' && (l.obj as { willRetry?: boolean }).willRetry === false))
})

t.test('toAdvisoryError keeps field names and drops echoed values', async (t) => {
  const fake = (status: number, data: unknown) => Object.assign(new Error(`boom ${CANARY}`), {
    status, request: { body: CANARY }, response: { status, headers: {}, data }
  })
  const err = toAdvisoryError('create advisory', fake(422, {
    message: 'Validation Failed',
    errors: ['"reporter" is not a permitted key.', `${CANARY} is weird`, { resource: 'RepositoryAdvisory', field: 'summary', code: 'invalid', value: CANARY, message: CANARY }]
  }))
  t.type(err, AdvisoryPermanentError)
  t.equal(err.message, 'GitHub create advisory failed: 422 Validation Failed [reporter:not_permitted, unstructured, summary:invalid]')
  t.notOk(inspect(err, { showHidden: true, depth: 20 }).includes(CANARY))
  t.type(toAdvisoryError('x', fake(502, '<html>bad gateway</html>')), AdvisoryTransientError)
  t.type(toAdvisoryError('x', fake(401, { message: 'Bad credentials' })), AdvisoryTransientError, '401: a fixed token lets the retry succeed')
  t.type(toAdvisoryError('x', fake(429, {})), AdvisoryTransientError)
})

t.test('observer routes are templates, also for the pages a Link header points to (bounded metric labels)', async (t) => {
  const routes = new Set<string>()
  const observe = { request: (r: { route: string }) => { routes.add(r.route) }, rateLimit: () => {} }
  const { stub, sink, req } = await setup(t, { observe })
  for (let i = 0; i < 250; i++) stub.seedAdvisory({ owner: 'acme', repo: 'widget', body: createBody(`other-${i}`) })
  await sink.create(req('intake-11'))
  t.ok(stub.requests.filter((r) => r.query.after !== undefined).length >= 2, 'followed Link cursors')
  // Page 1 is Octokit's template; the next pages are the Link's path (owner/repo are ours).
  t.same([...routes].sort(), ['/repos/acme/widget/security-advisories', '/repos/{owner}/{repo}/security-advisories'], 'two route labels whatever the number of pages: no origin, no cursor')
})
