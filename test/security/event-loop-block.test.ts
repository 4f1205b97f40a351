// Finding 5 of issue 15: in `npm start` (web and worker in one process) a 1 MB HTML report
// parsed by the worker blocked the shared event loop for seconds (HTML to text), and
// @fastify/under-pressure shed webhooks with 503. Reports are now opened on threads
// (DECRYPT_THREADS, default 2): while large and HTML-heavy messages are processed, every
// webhook is accepted and /healthz answers. The delay itself (target: max < 100 ms) is
// measured by `npm run bench` (BENCHMARKS.md): on a loaded CI machine it is noisy.
import t from 'tap'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { startGateway } from '../helpers/gateway.js'
import { htmlReport } from '../helpers/bombs.js'
import { message, textPart } from '../helpers/gpg.js'
import { teamKey } from '../helpers/team-key.js'

t.test('large HTML reports are opened off the event loop: no webhook shed, /healthz answers', async (t) => {
  const team = await teamKey()
  const gw = await startGateway(t, { PGP_PRIVATE_KEY: team.armoredSecret, WORKER_CONCURRENCY: '4' })
  const heavy = [htmlReport(1536 * 1024, 'A <a@example.net>'), htmlReport(1536 * 1024, 'B <b@example.net>'), message({ from: 'C <c@example.net>' }, textPart('stack trace line\n'.repeat(60_000)))]
  // Queued while no worker runs, so the run below measures the worker alone (the web
  // role's own cost of taking 1 MB bodies is another finding's).
  await gw.worker().close()
  for (const raw of heavy) t.equal((await retry503(async () => await gw.post(raw))).status, 200)
  await retry503(async () => ({ status: (await gw.inject({ method: 'GET', url: '/healthz' })).statusCode }))
  await gw.restartWorker()
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  const statuses: number[] = []
  let n = 0
  // Outcome log lines, not the completed count: completed jobs are removed past a cap.
  const outcomes = (): number => gw.logs.filter((l) => l.includes('"msg":"report outcome"')).length
  const done = async (): Promise<boolean> => outcomes() >= heavy.length + n
  const deadline = Date.now() + 90_000
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`not done: ${outcomes()} outcomes, ${n} posted; ${gw.logs.filter((l) => /outcome|error|warn/.test(l) && !l.includes("advisory")).slice(-5).join(" | ").slice(0, 2500)}`)
    if (n < 30) {
      const small = message({ from: `Small ${n} <small${n}@example.net>`, subject: `small ${n}` }, textPart(`report ${n}\n`))
      statuses.push((await gw.post(small)).status)
      n++
    }
    statuses.push((await gw.inject({ method: 'GET', url: '/healthz' })).statusCode)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  histogram.disable()
  t.ok(n > 0, `${n} webhooks posted while the heavy reports were processed`)
  t.same(statuses.filter((s) => s !== 200), [], 'every webhook accepted and every /healthz answered 200: nothing shed')
  t.equal(await gw.queue.getFailedCount(), 0)
  t.equal(gw.logs.filter((l) => l.includes('"outcome":"advisory"')).length, heavy.length + n, 'every report filed')
  // The target is 100 ms (measured by the bench); here 500 ms, as a loaded 2-core CI machine
  // adds pauses of its own. Opened on this thread, these messages stall it for ~1-2 s.
  t.ok(histogram.max / 1e6 < 500, `no stall anywhere near the 1 s that sheds webhooks (max ${(histogram.max / 1e6).toFixed(0)} ms)`)
  t.comment(`event-loop delay during the run: max ${(histogram.max / 1e6).toFixed(0)} ms, p99 ${(histogram.percentile(99) / 1e6).toFixed(0)} ms`)
})

async function retry503<T extends { status: number }> (fn: () => Promise<T>): Promise<T> {
  for (let tries = 0; ; tries++) {
    const res = await fn()
    if (res.status !== 503 || tries > 100) return res
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
