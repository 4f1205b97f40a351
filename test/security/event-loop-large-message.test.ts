// Issue 15 ("heavy steps never block the event loop"): with reports opened on threads,
// a 25 MB message (a 25 MiB attachment, ~35 MB raw) still held the worker's event loop
// for 0.6-1 s on the main thread: one GET of the sealed 35 MB (the Redis client joins the
// reply in one go), the seal opened with one AES-GCM pass and a concatenation, and the
// copy handed to the open thread. Now the seal is read in GETRANGE slices and opened and
// copied 1 MiB at a time, with turns for other work in between. The target (max < 100 ms)
// is measured by `npm run bench` (BENCHMARKS.md, section 4c); here the bound is looser, as
// this test shares a loaded 2-core machine, but far below the 0.6-1 s of before.
import t from 'tap'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { startGateway } from '../helpers/gateway.js'
import { largeReport } from '../helpers/bombs.js'

const MiB = 1024 * 1024

t.test('a 25 MB message is unsealed and handed to its open thread without stalling the event loop', async (t) => {
  const gw = await startGateway(t, { WORKER_CONCURRENCY: '2', WORKER_MEMORY_MB: '1024' })
  const raws = [largeReport(25 * MiB, 'one\n', 'A <a@example.net>'), largeReport(25 * MiB, 'two\n', 'B <b@example.net>')]
  // Queued while no worker runs, so the run below measures the worker alone (the web role's sealing is its own).
  await gw.worker().close()
  for (const raw of raws) t.equal((await gw.post(raw)).status, 200)
  raws.length = 0
  await gw.restartWorker()
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  const outcomes = (): string[] => gw.logs.filter((l) => l.includes('"msg":"report outcome"'))
  await gw.waitFor(() => outcomes().length >= 2, 'both reports processed', 60_000).catch((err: Error) => {
    throw new Error(`${err.message}: ${gw.logs.filter((l) => /budget|outcome|error|warn|too-large/.test(l)).slice(-6).join(' | ').slice(0, 2000)}`)
  })
  histogram.disable()
  t.equal(outcomes().filter((l) => l.includes('"outcome":"advisory"')).length, 2, 'both filed')
  const maxMs = histogram.max / 1e6
  t.comment(`event-loop delay while two 25 MB messages were processed: max ${maxMs.toFixed(0)} ms, p99 ${(histogram.percentile(99) / 1e6).toFixed(0)} ms`)
  t.ok(maxMs < 300, `no stall near the 0.6-1 s of a 35 MB GET + seal opened at once (max ${maxMs.toFixed(0)} ms)`)
})
