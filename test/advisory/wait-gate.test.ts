// When GitHub says wait, nothing of this client goes out until the wait is over: not the
// refused request, not plugin-retry's 429 retry (which ignores retry-after), not the
// other requests queued behind it.
import t, { type Test } from 'tap'
import { createOctokit, type Log } from '../../src/advisory/github-client.js'
import { intakeMarker } from '../../src/advisory/marker.js'
import { AdvisoryTransientError, githubSink } from '../../src/advisory/sink.js'
import { startGithubStub } from '../helpers/github-stub.js'

const quiet: Log = { debug () {}, info () {}, warn () {}, error () {} }
const body = (intakeId: string) => ({
  summary: 'Path traversal', description: `${intakeMarker(intakeId)}\n\nreport`,
  vulnerabilities: [{ package: { ecosystem: 'npm', name: 'widget' } }]
})

async function setup (t: Test, maxRateLimitWaitSeconds?: number) {
  const stub = await startGithubStub({ repos: ['acme/widget'], token: 'tok' })
  t.teardown(stub.close)
  const octokit = createOctokit({ baseUrl: stub.url, auth: 'tok', log: quiet, retryBaseMs: 10, writeIntervalMs: 0, ...(maxRateLimitWaitSeconds === undefined ? {} : { maxRateLimitWaitSeconds }) })
  const sink = githubSink(octokit, quiet)
  const create = (id: string) => sink.create({ owner: 'acme', repo: 'widget', intakeId: id, body: body(id) }, { lookupFirst: false })
  return { stub, create }
}

t.test('429 with retry-after: concurrent creations all wait it out, none is sent during the wait', async (t) => {
  const { stub, create } = await setup(t)
  stub.failNext(429, 1, { 'retry-after': '2' }, { method: 'POST' })
  const first = create('gate-1')
  first.catch(() => {})
  await new Promise((resolve) => setTimeout(resolve, 100))
  const rest = ['gate-2', 'gate-3'].map(create)
  // The refused POST itself is not retried in-process (it may have been applied): its
  // job retries later. The others were held at the gate and pass once it opens.
  await t.rejects(first, AdvisoryTransientError)
  const results = await Promise.allSettled(rest)
  await create('gate-1') // the job's retry
  t.same(stub.violations, [], 'no request while told to wait')
  const posts = stub.requests.filter((r) => r.method === 'POST')
  t.equal(posts[0]?.status, 429)
  t.ok(posts.slice(1).every((p) => p.at - posts[0]!.at >= 2000), 'every later request came after retry-after')
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 2)
  t.equal(stub.advisories.length, 3)
})

t.test('a wait longer than maxRateLimitWaitSeconds fails at once as a transient rate limit', async (t) => {
  const { stub, create } = await setup(t, 1)
  stub.failNext(403, 1, { 'retry-after': '30' }, { method: 'POST' })
  await t.rejects(create('gate-4'), AdvisoryTransientError)
  const err = await create('gate-5').then(() => undefined, (e: unknown) => e)
  t.type(err, AdvisoryTransientError, 'held back by the gate, not sent')
  t.ok(((err as AdvisoryTransientError).retryAfterMs ?? 0) > 20_000, 'the job learns how long to wait')
  t.equal(stub.requests.filter((r) => r.method === 'POST').length, 1)
  t.same(stub.violations, [])
})

t.test('requests go out one at a time, so none is in flight when a refusal arrives', async (t) => {
  const { stub, create } = await setup(t)
  stub.failNext(429, 1, { 'retry-after': '1' }, { method: 'POST' })
  const results = await Promise.allSettled(['gate-6', 'gate-7', 'gate-8', 'gate-9'].map(create))
  t.same(stub.violations, [], 'nothing reached GitHub after it said wait')
  t.equal(results.filter((r) => r.status === 'rejected').length, 1, 'only the refused one failed (its job retries)')
  const posts = stub.requests.filter((r) => r.method === 'POST')
  t.ok(posts.slice(1).every((p) => p.at - posts[0]!.at >= 1000))
})
