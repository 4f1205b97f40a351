// A worker killed (SIGKILL: what the kernel's OOM killer does) while it processes a
// report. Killed once, a restarted worker resumes the report within 30 s of the kill
// (BullMQ sees the job stalled once its lock expires; the report lock has expired by
// then). Killed twice, the report is a poison message: it is quarantined `worker-crash`
// (kept sealed, replayable) instead of being run a third time, which would kill the
// next worker as well.
import t, { type Test } from 'tap'
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { QUEUE } from '../../src/queue/jobs.js'
import { startChildRole, type ChildRole } from '../helpers/child-gateway.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'
import { quarantineCommand } from '../../src/cli/quarantine.js'
import { testConfig } from '../helpers/config.js'
import { freePort } from '../helpers/redis-server.js'
import { hasAdvisory, makeReports, post, rig, waitFor, type Rig } from './harness.js'

/** A GitHub that accepts every request and never answers: the run holding it stays active until killed. */
async function blackHole (t: Test): Promise<{ url: string, requests: IncomingMessage[] }> {
  const requests: IncomingMessage[] = []
  const server = createServer((req) => { requests.push(req) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}

/** One report posted through its own web role and queue prefix; the queue to watch it. */
async function oneReport (t: Test, r: Rig, name: string): Promise<{ prefix: string, id: string, queue: Queue, redis: Redis }> {
  const prefix = uniquePrefix(name)
  t.teardown(() => dropPrefix(prefix))
  const web = await startChildRole('web', r.webEnv(REDIS_URL, prefix))
  t.teardown(() => web.kill())
  const [report] = await makeReports(1, r.team.keyring.published, r.wrong.keyring.published, 0)
  const { status, id } = await post(web.url, report!.raw)
  if (status !== 200 || id === undefined) throw new Error(`post answered ${status}`)
  const redis = new Redis(REDIS_URL)
  const queue = new Queue(QUEUE, { connection: redis, prefix })
  t.teardown(async () => { await queue.close(); redis.disconnect() })
  return { prefix, id, queue, redis }
}

/** A worker on its own metrics port (the two scenarios run side by side). */
async function worker (r: Rig, prefix: string, more: Record<string, string> = {}): Promise<ChildRole> {
  return await startChildRole('worker', r.workerEnv(REDIS_URL, prefix, { METRICS_PORT: String(await freePort()), ...more }))
}

/** Starts a worker whose GitHub never answers, waits until it holds the report, kills it. */
async function killWhileActive (r: Rig, prefix: string, queue: Queue, hole: { url: string, requests: IncomingMessage[] }): Promise<number> {
  const seen = hole.requests.length
  const child = await worker(r, prefix, { GITHUB_API_URL: hole.url })
  await waitFor(async () => hole.requests.length > seen && (await queue.getActiveCount()) === 1, 'the report being processed', 60_000)
  await child.kill('SIGKILL')
  return Date.now()
}

// The two scenarios run side by side (each waits out BullMQ's stall detection).
t.test('worker killed while it processes a report', async (t) => {
  const r = await rig(t)
  const [once, twice] = await Promise.all([killedOnce(t, r), killedTwice(t, r)])

  t.ok(once.seconds < 30, `killed once: filed ${once.seconds.toFixed(1)} s after the kill`)
  t.equal(once.quarantined, 0, 'killed once: nothing quarantined')

  t.equal(twice.entry.code, 'worker-crash', 'killed twice: quarantined worker-crash')
  t.match(twice.entry.reason, /killed 2 times/)
  t.equal(twice.failedReason, 'job stalled more than allowable limit', 'BullMQ failed the job instead of running it again')
  t.notOk(twice.advisedBefore, 'the third worker did not process it')
  t.equal(twice.runsAfter, twice.runsBefore, 'nor did anything else')
  t.equal(twice.sealedTtl, -1, 'the sealed original is kept')
  t.ok(twice.noticed, 'the team was told')
  t.equal(twice.replayed, 0, 'replayed from the quarantine: filed (waited for above)')
})

async function killedOnce (t: Test, r: Rig): Promise<{ seconds: number, quarantined: number }> {
  const { prefix, id, queue, redis } = await oneReport(t, r, 'crash-once')
  const killedAt = await killWhileActive(r, prefix, queue, await blackHole(t))
  const second = await worker(r, prefix)
  t.teardown(() => second.kill())
  await waitFor(() => hasAdvisory(r.stub, id), 'the advisory', 60_000)
  const seconds = (Date.now() - killedAt) / 1000
  await waitFor(async () => (await queue.getCompletedCount()) === 1, 'the job completed', 30_000)
  return { seconds, quarantined: await redis.hlen(`${prefix}:gw:quarantine`) }
}

async function killedTwice (t: Test, r: Rig) {
  const { prefix, id, queue, redis } = await oneReport(t, r, 'crash-twice')
  const hole = await blackHole(t)
  await killWhileActive(r, prefix, queue, hole)
  await killWhileActive(r, prefix, queue, hole)
  const runsBefore = hole.requests.length
  const third = await worker(r, prefix)
  t.teardown(() => third.kill())
  const entry = await waitFor(async () => {
    const json = await redis.hget(`${prefix}:gw:quarantine`, id)
    return json === null ? undefined : JSON.parse(json) as { code: string, reason: string }
  }, 'the quarantine entry', 60_000)
  const noticed = await waitFor(async () => (await redis.hget(`${prefix}:gw:state:${id}`, 'team.quarantined')) ?? undefined, 'the team notice', 30_000)
  const [failed] = await queue.getFailed()
  const outcome = { id, entry, failedReason: failed?.failedReason, runsBefore, runsAfter: hole.requests.length, sealedTtl: await redis.ttl(`${prefix}:gw:sealed:${id}`), noticed: noticed !== null }
  // Whatever killed the workers is fixed (here: GitHub answers again); the operator replays.
  const advisedBefore = hasAdvisory(r.stub, id)
  const config = testConfig({ REDIS_URL, QUEUE_PREFIX: prefix, SEAL_PRIVATE_KEY: 'unused' })
  const replayed = await quarantineCommand(config, ['replay', id], () => {})
  await waitFor(() => hasAdvisory(r.stub, id), 'the advisory after the replay', 60_000)
  return { ...outcome, advisedBefore, replayed }
}
