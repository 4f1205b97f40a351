// Web role memory (issue 15): peak RSS (VmHWM) of a fresh web role that takes a 39 MB body
// with a wrong signature (once: minutes of CPU, then out of memory), and of one that takes
// 20 concurrent 25 MB authenticated bodies with WEB_MEMORY_MB=512 (the shipped fly.toml's
// machine), retrying 503s as providers do; /healthz polled throughout.
import { generateSealKeyPair } from '../src/seal/hpke.js'
import { startChildRole } from '../test/helpers/child-gateway.js'
import { startRedisServer } from '../test/helpers/redis-server.js'
import { healthPoller, percentile } from '../test/helpers/health-poller.js'
import { peakRssMiB, rssMiB, signedHeaders, sleep, type Target } from './lib.js'

const SECRET = 'bench-inbound-secret-0123456789abcdef'
const MB = 1000 * 1000
const WEB_MEMORY_MB = 512

export interface WebMemoryRow { load: string, idleMiB: number, peakMiB: number, seconds: number, shed: number, healthP99Ms: number, answers: string }

function report (n: number): Buffer {
  const line = 'The loader resolves ../ in archive entries before the prefix check, so a crafted tar\r\n'
  const head = `From: R ${n} <r${n}@example.net>\r\nTo: security@example.org\r\nSubject: large ${n}\r\nMessage-ID: <webmem-${n}-${Date.now()}@example.net>\r\nContent-Type: text/plain\r\n\r\n`
  return Buffer.concat([Buffer.from(head), Buffer.from(line.repeat(Math.ceil(25 * MB / line.length)))])
}

async function post (url: string, body: Buffer, headers: Record<string, string>): Promise<number> {
  return await fetch(`${url}/inbound/raw`, { method: 'POST', headers, body }).then((r) => r.status, () => 0)
}

export async function webMemory (): Promise<{ rows: WebMemoryRow[], targets: Target[] }> {
  const redis = await startRedisServer({ persistent: false })
  const seal = generateSealKeyPair()
  const rows: WebMemoryRow[] = []
  const loads: Array<[string, (url: string) => Promise<{ shed: number, answers: number[] }>]> = [
    ['39 MB body, wrong signature', async (url) => {
      const headers = { ...signedHeaders(SECRET, Buffer.alloc(0)), 'x-intake-signature': 'v1=' + 'f'.repeat(64) }
      const status = await post(url, Buffer.alloc(39 * MB, 'A'), headers)
      await sleep(2000) // what used to follow the answer
      return { shed: 0, answers: [status] }
    }],
    ['20 concurrent 25 MB reports', async (url) => {
      const bodies = Array.from({ length: 20 }, (_, n) => report(n))
      const signed = bodies.map((b) => signedHeaders(SECRET, b))
      let shed = 0
      const answers = await Promise.all(bodies.map(async (b, i) => {
        for (;;) {
          const status = await post(url, b, signed[i] as Record<string, string>)
          if (status !== 503) return status
          shed++
          await sleep(250 + Math.random() * 250)
        }
      }))
      return { shed, answers }
    }]
  ]
  try {
    for (const [label, load] of loads) {
      const web = await startChildRole('web', {
        REDIS_URL: redis.url,
        QUEUE_PREFIX: `bench-webmem-${rows.length}`,
        DATA_DIR: '/tmp/intake-bench-data',
        INBOUND_SECRET: SECRET,
        SEAL_PUBLIC_KEY: seal.publicKey,
        LOG_LEVEL: 'info',
        INBOUND_RATE_LIMIT: '100000/60',
        WEB_MEMORY_MB: String(WEB_MEMORY_MB)
      }, [], { entry: 'dist' })
      const pid = web.child.pid as number
      const idle = rssMiB(pid)
      const poller = healthPoller(web.url)
      const started = performance.now()
      const { shed, answers } = await load(web.url)
      const seconds = (performance.now() - started) / 1000
      const health = await poller.stop()
      const counts = new Map<number, number>()
      for (const a of answers) counts.set(a, (counts.get(a) ?? 0) + 1)
      rows.push({
        load: label,
        idleMiB: idle,
        peakMiB: peakRssMiB(pid),
        seconds,
        shed,
        healthP99Ms: health.every((h) => h.status === 200) ? percentile(health.map((h) => h.ms), 0.99) : NaN,
        answers: [...counts].map(([status, n]) => `${n}× ${status}`).join(', ')
      })
      process.stdout.write(`  web memory, ${label}: peak ${rows.at(-1)!.peakMiB.toFixed(0)} MiB, /healthz p99 ${rows.at(-1)!.healthP99Ms.toFixed(0)} ms\n`)
      await web.kill()
    }
  } finally {
    await redis.close()
  }
  return {
    rows,
    targets: rows.flatMap((r) => [
      { name: `Peak RSS, web role, ${r.load}`, target: `< ${WEB_MEMORY_MB} MiB`, measured: `${r.peakMiB.toFixed(0)} MiB`, met: r.peakMiB < WEB_MEMORY_MB },
      { name: `/healthz p99, web role, ${r.load}`, target: '< 1000 ms', measured: `${r.healthP99Ms.toFixed(0)} ms`, met: r.healthP99Ms < 1000 }
    ])
  }
}

export function webMemoryTable (rows: WebMemoryRow[]): string {
  return [
    '| load | answers | 503s retried | time | web RSS idle | web peak RSS | /healthz p99 |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.load} | ${r.answers} | ${r.shed} | ${r.seconds.toFixed(1)} s | ${r.idleMiB.toFixed(0)} MiB | ${r.peakMiB.toFixed(0)} MiB | ${r.healthP99Ms.toFixed(0)} ms |`)
  ].join('\n')
}
