// Finding 2 of issue 15, under a real limit: the worker role (the production entry, as a
// child process) runs in a cgroup v1 memory limit of 512 MiB with WORKER_CONCURRENCY=4,
// the shipped fly.toml's size. Four compression bombs (60 MB of compressible plaintext in
// ~540 KB each) arrive at once with a few normal reports and one legitimate 25 MB message.
// Nothing is OOM-killed; the bombs go to quarantine `too-large` with their sizes (one
// opened bomb costs ~8x 60 MB, more than what 512 MiB less the worker's baseline holds);
// the rest become advisories.
import t from 'tap'
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { QUEUE } from '../../src/queue/jobs.js'
import { startChildRole } from '../helpers/child-gateway.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'
import { compressionBomb, largeReport } from '../helpers/bombs.js'
import { hasAdvisory, makeReports, postAll, rig, waitFor, type Report } from './harness.js'

const MiB = 1024 * 1024
const root = '/sys/fs/cgroup/memory'
const usable = process.getuid?.() === 0 && existsSync(`${root}/memory.limit_in_bytes`)

t.test('four compression bombs and a 25 MB report at once in a 512 MiB worker: nothing killed, every message ends where it should', { skip: usable ? false : 'needs root and a cgroup v1 memory controller at /sys/fs/cgroup/memory' }, async (t) => {
  const r = await rig(t)
  const prefix = uniquePrefix('fault-mem')
  t.teardown(() => dropPrefix(prefix))
  const group = `${root}/intake-fault-${randomBytes(4).toString('hex')}`
  mkdirSync(group)
  writeFileSync(`${group}/memory.limit_in_bytes`, String(512 * MiB))
  const logs: string[] = []
  const web = await startChildRole('web', { ...r.webEnv(REDIS_URL, prefix), INBOUND_MAX_MB: '40' }, logs)
  t.teardown(() => web.kill())

  const bombs: Report[] = []
  for (let n = 0; n < 4; n++) bombs.push({ n: 100 + n, kind: 'encrypted', raw: await compressionBomb(r.team.keyring.published, 60 * MiB, `Bomber ${n} <bomber${n}@example.net>`) })
  const normal = await makeReports(5, r.team.keyring.published, r.wrong.keyring.published, 0)
  const large: Report = { n: 200, kind: 'plain', raw: largeReport(25 * 1024 * 1024) }
  const bombIds = (await postAll(web.url, bombs)).ids
  const normalIds = (await postAll(web.url, normal)).ids
  const largeIds = (await postAll(web.url, [large])).ids
  t.equal(bombIds.length + normalIds.length + largeIds.length, 10, 'all ten queued')

  const worker = await startChildRole('worker', r.workerEnv(REDIS_URL, prefix, { WORKER_CONCURRENCY: '4', JOB_ATTEMPTS: '3' }), logs, {
    entry: 'dist',
    onSpawn: (pid) => writeFileSync(`${group}/cgroup.procs`, String(pid))
  })
  t.teardown(async () => { await worker.kill(); rmdirSync(group) })
  const redis = new Redis(REDIS_URL)
  const queue = new Queue(QUEUE, { connection: redis, prefix })
  t.teardown(async () => { await queue.close(); redis.disconnect() })
  await waitFor(async () => (await queue.getCompletedCount()) + (await queue.getFailedCount()) >= 10 || worker.child.exitCode !== null || worker.child.signalCode !== null, 'every job finished (or the worker gone)', 180_000)

  const oomKills = Number(/oom_kill (\d+)/.exec(readFileSync(`${group}/memory.oom_control`, 'utf8'))?.[1] ?? 0)
  const peak = Number(readFileSync(`${group}/memory.max_usage_in_bytes`, 'utf8'))
  t.equal(worker.child.exitCode, null, 'the worker is still running')
  t.equal(worker.child.signalCode, null, 'not killed')
  t.equal(oomKills, 0, 'memory.oom_control: no OOM kill')
  t.ok(peak <= 512 * MiB, `cgroup peak ${Math.round(peak / MiB)} MiB`)
  const budget = logs.find((l) => l.includes('"worker memory budget"'))
  t.ok(budget, `the worker took its budget from the cgroup: ${budget?.match(/"budgetMiB":\d+,"limitMiB":\d+,"source":"\w+"/)?.[0] ?? '?'}`)
  t.match(budget ?? '', /"limitMiB":512,"source":"cgroup"/)

  const quarantine = await redis.hgetall(`${prefix}:gw:quarantine`)
  for (const id of bombIds) {
    const entry = JSON.parse(quarantine[id] ?? '{}') as { code?: string, reason?: string }
    t.equal(entry.code, 'too-large', `bomb ${id} quarantined too-large`)
    t.match(entry.reason ?? '', /larger than \d+ bytes, the most one message of \d+ bytes may decrypt to within the worker's memory budget of [\d.]+ MiB/, 'with its sizes')
  }
  for (const id of [...normalIds, ...largeIds]) t.ok(hasAdvisory(r.stub, id), `report ${id} filed as an advisory`)
  t.equal(await queue.getFailedCount(), bombIds.length, 'only the bombs failed (quarantined)')
  t.comment(`worker cgroup peak ${Math.round(peak / MiB)} MiB of 512 MiB; ${budget ?? ''}`)
})
