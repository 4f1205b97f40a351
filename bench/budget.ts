// Worker memory under its budget (issue 15, finding 2) and its event loop (finding 5):
// peak RSS (VmHWM) of `node dist/main.js worker` with WORKER_MEMORY_MB=512 (the shipped
// fly.toml's machine) and WORKER_CONCURRENCY=4 for one and four concurrent 25 MB
// messages and four compression bombs (60 MB of text in ~540 KB), each load in a fresh
// worker; and the worker's largest event-loop delay over each run (prom-client's
// monitorEventLoopDelay gauge, reset by a scrape just before the messages are posted).
import { startChildRole } from '../test/helpers/child-gateway.js'
import { freePort } from '../test/helpers/redis-server.js'
import { compressionBomb, htmlReport, largeReport } from '../test/helpers/bombs.js'
import { peakRssMiB, rssMiB, signedHeaders, waitUntil, benchPeers, type Target, benchWorkerEnv } from './lib.js'

const SECRET = 'bench-inbound-secret-0123456789abcdef'
const MiB = 1024 * 1024

export interface BudgetRow { load: string, idleMiB: number, peakMiB: number, loopMaxMs: number, outcomes: string }

export async function budget (): Promise<{ rows: BudgetRow[], targets: Target[] }> {
  const peers = await benchPeers()
  const { redis, stub, smtp, seal, key, publicKey } = peers
  const rows: BudgetRow[] = []
  const loads: Array<[string, () => Promise<Buffer[]>]> = [
    ['one 25 MB message', async () => [largeReport(25 * MiB, 'one\n', 'A <a@example.net>')]],
    ['four 25 MB messages at once', async () => ['a', 'b', 'c', 'd'].map((n) => largeReport(25 * MiB, `${n}\n`, `${n} <${n}@example.net>`))],
    ['four compression bombs at once', async () => await Promise.all([0, 1, 2, 3].map(async (n) => await compressionBomb(publicKey, 60 * MiB, `B${n} <b${n}@example.net>`)))],
    ['four 1.5 MB HTML reports at once', async () => [0, 1, 2, 3].map((n) => htmlReport(1536 * 1024, `H${n} <h${n}@example.net>`))]
  ]
  try {
    for (const [label, make] of loads) {
      const raws = await make()
      const prefix = `bench-budget-${rows.length}`
      const common = { REDIS_URL: redis.url, QUEUE_PREFIX: prefix, DATA_DIR: '/tmp/intake-bench-data' }
      const metricsPort = await freePort()
      const web = await startChildRole('web', { ...common, INBOUND_SECRET: SECRET, SEAL_PUBLIC_KEY: seal.publicKey, LOG_LEVEL: 'warn' }, [], { entry: 'dist' })
      const logs: string[] = []
      const worker = await startChildRole('worker', {
        ...common,
        ...benchWorkerEnv({ seal, key, stub, smtp }),
        WORKER_CONCURRENCY: '4',
        WORKER_MEMORY_MB: '512',
        JOB_ATTEMPTS: '1',
        METRICS_PORT: String(metricsPort),
        METRICS_PORT_OPEN: 'true'
      }, logs, { entry: 'dist' })
      const scrape = async (): Promise<number> => {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
        return Number(/^intake_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(text)?.[1] ?? NaN) * 1000
      }
      await new Promise((resolve) => setTimeout(resolve, 2000)) // threads loaded
      const idle = rssMiB(worker.child.pid as number)
      await scrape() // resets the delay histogram: the run starts from here
      for (const raw of raws) {
        const res = await fetch(`${web.url}/inbound/raw`, { method: 'POST', headers: signedHeaders(SECRET, raw), body: raw })
        if (res.status !== 200) throw new Error(`bench: budget post answered ${res.status}`)
      }
      const outcomes = (): string[] => logs.filter((l) => l.includes('"msg":"report outcome"')).map((l) => /"outcome":"(\w+)"/.exec(l)?.[1] ?? '?')
      await waitUntil(() => outcomes().length >= raws.length, label, 600_000, 100)
      const loopMaxMs = await scrape()
      const counts = new Map<string, number>()
      for (const o of outcomes()) counts.set(o, (counts.get(o) ?? 0) + 1)
      rows.push({ load: label, idleMiB: idle, peakMiB: peakRssMiB(worker.child.pid as number), loopMaxMs, outcomes: [...counts].map(([o, n]) => `${n} ${o === 'failed' ? 'quarantined too-large' : o}`).join(', ') })
      process.stdout.write(`  budget, ${label}: worker peak ${rows.at(-1)!.peakMiB.toFixed(0)} MiB, event loop max ${loopMaxMs.toFixed(0)} ms, ${rows.at(-1)!.outcomes}\n`)
      await web.kill()
      await worker.kill()
    }
  } finally {
    await peers.close()
  }
  return {
    rows,
    targets: [
      ...rows.map((r) => ({ name: `Peak RSS, worker (WORKER_MEMORY_MB=512), ${r.load}`, target: '< 512 MiB', measured: `${r.peakMiB.toFixed(0)} MiB`, met: r.peakMiB < 512 })),
      ...rows.map((r) => ({ name: `Event-loop max delay, worker, ${r.load}`, target: '< 100 ms', measured: `${r.loopMaxMs.toFixed(0)} ms`, met: r.loopMaxMs < 100 }))
    ]
  }
}

export function budgetTable (rows: BudgetRow[]): string {
  return [
    '| load | worker RSS idle | worker peak RSS | event-loop max delay | outcomes |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.load} | ${r.idleMiB.toFixed(0)} MiB | ${r.peakMiB.toFixed(0)} MiB | ${r.loopMaxMs.toFixed(0)} ms | ${r.outcomes} |`)
  ].join('\n')
}
