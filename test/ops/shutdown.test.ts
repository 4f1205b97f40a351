// Graceful shutdown: SIGTERM in the middle of a burst, then a restart, loses and
// duplicates nothing; a job still running at the deadline goes back to the queue.
import t from 'tap'
import { createServer, type Server } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { signRaw } from '../../src/inbound/hmac.js'
import { startGithubStub } from '../helpers/github-stub.js'
import { startGateway } from '../helpers/gateway.js'
import { plainMessage } from '../helpers/messages.js'
import { startMain } from '../helpers/main-process.js'
import { dropPrefix, uniquePrefix } from '../helpers/redis.js'

const SECRET = 'shutdown-test-inbound-secret'
const REPORTS = 200

t.test(`SIGTERM during a burst of ${REPORTS} reports, restart: ${REPORTS} advisories, none duplicated`, async (t) => {
  t.setTimeout(240_000)
  const stub = await startGithubStub({ repos: ['acme/widget'], token: 'gh-token' })
  t.teardown(stub.close)
  const dir = mkdtempSync(join(tmpdir(), 'intake-shutdown-'))
  const prefix = uniquePrefix('shutdown')
  t.teardown(async () => { rmSync(dir, { recursive: true, force: true }); await dropPrefix(prefix) })
  const env = {
    QUEUE_PREFIX: prefix, KEYS_DIR: join(dir, 'keys'), DATA_DIR: join(dir, '.data'), OUTBOX_DIR: join(dir, 'outbox'),
    INBOUND_SECRET: SECRET, GITHUB_TOKEN: 'gh-token', GITHUB_API_URL: stub.url, GITHUB_OWNER: 'acme', GITHUB_DEFAULT_REPO: 'widget',
    // One sender writes all 200: above the default per-sender rate, which would quarantine them.
    SENDER_RATE_LIMIT: '1000/3600',
    JOB_BACKOFF_MS: '200', SHUTDOWN_TIMEOUT_MS: '15000', GITHUB_WRITE_INTERVAL_MS: '0', REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  }

  let gateway = startMain([], env)
  t.teardown(() => gateway.signal('SIGKILL'))
  let base = `http://127.0.0.1:${await gateway.port}`
  let up: Promise<void> = Promise.resolve()

  // Like a provider: retry until the gateway says 200 (503, refused connection, reset).
  const accepted = new Map<number, string>()
  let answered = 0
  const deliver = async (i: number) => {
    const raw = plainMessage({ messageId: `burst-${i}@example.org`, subject: `Report ${i}`, body: `burst report number ${i}.` })
    for (;;) {
      await up
      const ts = Math.floor(Date.now() / 1000)
      try {
        const res = await fetch(`${base}/inbound/raw`, { method: 'POST', body: raw, headers: { 'content-type': 'message/rfc822', 'x-intake-timestamp': String(ts), 'x-intake-signature': signRaw(SECRET, ts, raw) } })
        if (res.status === 200) {
          accepted.set(i, (await res.json() as { id: string }).id)
          answered++
          return
        }
        await res.arrayBuffer()
      } catch {}
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  const todo = Array.from({ length: REPORTS }, (_, i) => i)
  const senders = Array.from({ length: 8 }, async () => { for (let i = todo.shift(); i !== undefined; i = todo.shift()) await deliver(i) })

  // SIGTERM once a part of the burst is in and the worker is busy with it.
  while (answered < 60) await new Promise((r) => setTimeout(r, 10))
  let restarted: () => void = () => {}
  up = new Promise((resolve) => { restarted = resolve })
  const first = gateway
  first.signal('SIGTERM')
  const firstCode = await first.code
  if (firstCode !== 0) t.comment(first.output().split('\n').filter((l) => l.includes('"level":50') || l.includes('"level":40')).join('\n').slice(-3000))
  t.equal(firstCode, 0, 'clean exit on SIGTERM')
  t.match(first.output(), 'shut down cleanly')
  const atShutdown = stub.advisories.length
  t.ok(atShutdown < REPORTS, `stopped mid-burst (${atShutdown} advisories filed before SIGTERM completed)`)

  gateway = startMain([], env)
  base = `http://127.0.0.1:${await gateway.port}`
  restarted()
  await Promise.all(senders)
  t.equal(accepted.size, REPORTS)
  t.equal(new Set(accepted.values()).size, REPORTS, 'distinct intake ids')

  // Wait for the queue to drain, so anything that would duplicate has had its chance.
  const redis = new Redis(env.REDIS_URL)
  const queue = new Queue('reports', { connection: redis, prefix })
  t.teardown(async () => { await queue.close(); redis.disconnect() })
  const until = Date.now() + 180_000
  for (;;) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed')
    if ((counts.completed === REPORTS && counts.waiting === 0 && counts.active === 0 && counts.delayed === 0) || Date.now() > until) break
    await new Promise((r) => setTimeout(r, 100))
  }
  const posts = stub.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/security-advisories') && r.status === 201)
  t.equal(stub.advisories.length, REPORTS, `${REPORTS} advisories`)
  t.equal(posts.length, REPORTS, 'one successful POST per report')
  const perReport = new Map<string, number>()
  for (const a of stub.advisories) {
    const n = /burst report number (\d+)\./.exec(a.description ?? '')?.[1] ?? 'none'
    perReport.set(n, (perReport.get(n) ?? 0) + 1)
  }
  t.equal(perReport.size, REPORTS, 'every report has its advisory')
  t.same([...perReport.values()].filter((c) => c !== 1), [], 'none duplicated')
  t.same(stub.invalidRequests, [])
  gateway.signal('SIGTERM')
  t.equal(await gateway.code, 0)
})

t.test('a job still running at the shutdown deadline goes back to the queue and is filed once after restart', async (t) => {
  // A GitHub that never answers holds the first run inside its advisory POST.
  const held: Array<() => void> = []
  const hanging: Server = createServer((req, res) => { held.push(() => res.destroy()); req.resume() })
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { for (const drop of held) drop(); hanging.close() })
  const stub = await startGithubStub({ repos: ['acme/widget'], token: 'gh-token' })
  t.teardown(stub.close)
  const github = { GITHUB_TOKEN: 'gh-token', GITHUB_OWNER: 'acme', GITHUB_DEFAULT_REPO: 'widget' }
  const gw = await startGateway(t, { ...github, GITHUB_API_URL: `http://127.0.0.1:${(hanging.address() as { port: number }).port}`, SHUTDOWN_TIMEOUT_MS: '300' })

  const res = await gw.post(plainMessage({ messageId: 'deadline@example.org', body: 'held at shutdown' }))
  t.equal(res.status, 200)
  await gw.waitFor(() => held.length > 0, 'the advisory POST reached GitHub')
  await gw.worker().close()
  const job = await gw.queue.getJob(String(res.id))
  t.equal(await job?.getState(), 'waiting', 'back in the queue, not failed, not lost')
  t.match(gw.logs.join(''), 'shutdown deadline: returning running jobs to the queue')
  t.notOk(await gw.redis.exists(`${gw.prefix}:gw:lock:${res.id}`), 'its report lock was handed over')

  await gw.restartWorker({ ...github, GITHUB_API_URL: stub.url })
  await gw.waitFor(async () => (await gw.queue.getJob(String(res.id)))?.finishedOn !== undefined, 'filed after restart')
  for (const drop of held) drop() // the abandoned run's POST fails now; it must not file or quarantine anything
  t.equal(await (await gw.queue.getJob(String(res.id)))?.getState(), 'completed')
  t.equal(stub.advisories.length, 1, 'one advisory')
  t.equal(await gw.redis.hlen(`${gw.prefix}:gw:quarantine`), 0, 'nothing quarantined')
})
