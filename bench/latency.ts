// Latency: from the webhook's 200 to the advisory request arriving at the GitHub stub,
// for encrypted reports posted at a steady 10 and 50 per second to a split deployment
// (web role and worker role as their own processes, the built production entry).
import { intakeMarker } from '../src/advisory/marker.js'
import { startChildRole } from '../test/helpers/child-gateway.js'
import { message, multipart, openpgpEncrypt, pgpMimeEncrypted, textPart } from '../test/helpers/gpg.js'
import { quantile, signedHeaders, sleep, waitUntil, benchPeers, type Target, benchWorkerEnv, workerNodeArgs } from './lib.js'

const SECRET = 'bench-inbound-secret-0123456789abcdef'

export interface LatencyRow { rate: number, sent: number, p50: number, p99: number, max: number, non200: number }

export async function latency (seconds: number, env: Record<string, string> = {}): Promise<{ rows: LatencyRow[], targets: Target[] }> {
  const peers = await benchPeers()
  const { redis, stub, smtp, seal, key, publicKey } = peers
  const common = { REDIS_URL: redis.url, QUEUE_PREFIX: 'bench-lat', DATA_DIR: '/tmp/intake-bench-data' }
  const web = await startChildRole('web', { ...common, INBOUND_SECRET: SECRET, SEAL_PUBLIC_KEY: seal.publicKey, LOG_LEVEL: 'warn' }, [], { entry: 'dist' })
  const worker = await startChildRole('worker', {
    ...common,
    ...benchWorkerEnv({ seal, key, stub, smtp }),
    ...env
  }, [], { entry: 'dist', nodeArgs: workerNodeArgs() })
  const rows: LatencyRow[] = []
  try {
    for (const rate of [10, 50]) {
      const count = rate * seconds
      const raws: Buffer[] = []
      for (let n = 0; n < count; n++) {
        const ciphertext = await openpgpEncrypt(multipart('mixed', [textPart(`Report ${n} at ${rate}/s: path traversal in the loader.\n`)]), { to: [publicKey] })
        raws.push(message({ from: `Reporter ${n} <r${n}@example.net>`, subject: '...', messageId: `lat-${rate}-${n}-${Math.random().toString(36).slice(2)}@example.net` }, pgpMimeEncrypted(ciphertext)))
      }
      const acceptedAt = new Map<string, number>()
      let non200 = 0
      const start = performance.now()
      const posts: Array<Promise<void>> = []
      for (let n = 0; n < count; n++) {
        // Open loop: each post leaves on its schedule, whatever the earlier ones are doing.
        const due = start + (n * 1000) / rate
        const wait = due - performance.now()
        if (wait > 0) await sleep(wait)
        const raw = raws[n] as Buffer
        posts.push(fetch(`${web.url}/inbound/raw`, { method: 'POST', headers: signedHeaders(SECRET, raw), body: raw }).then(async (res) => {
          const at = Date.now()
          const body = await res.json() as { id?: string }
          if (res.status === 200 && body.id !== undefined) acceptedAt.set(body.id, at)
          else non200++
        }))
      }
      await Promise.all(posts)
      await waitUntil(() => [...acceptedAt.keys()].every((id) => requestAt(stub.requests, id) !== undefined), `advisories at ${rate}/s`, 300_000)
      const latencies = [...acceptedAt.entries()].map(([id, at]) => (requestAt(stub.requests, id) as number) - at).sort((a, b) => a - b)
      rows.push({ rate, sent: count, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: latencies.at(-1) ?? NaN, non200 })
      process.stdout.write(`  latency at ${rate}/s: p50 ${rows.at(-1)!.p50.toFixed(0)} ms, p99 ${rows.at(-1)!.p99.toFixed(0)} ms\n`)
      await sleep(500)
    }
  } finally {
    await web.kill()
    await worker.kill()
    await peers.close()
  }
  const at50 = rows.find((r) => r.rate === 50)!
  return {
    rows,
    targets: [
      { name: 'Latency at 50/s, p50', target: '< 30 ms', measured: `${at50.p50.toFixed(0)} ms`, met: at50.p50 < 30 },
      { name: 'Latency at 50/s, p99', target: '< 150 ms', measured: `${at50.p99.toFixed(0)} ms`, met: at50.p99 < 150 }
    ]
  }
}

const firstPost = new Map<string, number>() // intake marker -> arrival of its first advisory POST
let scanned = 0
let scannedList: unknown

/** When the advisory POST for this intake arrived at the stub (its first attempt). */
function requestAt (requests: Array<{ method: string, body: unknown, at: number }>, intakeId: string): number | undefined {
  if (scannedList !== requests) { scannedList = requests; scanned = 0; firstPost.clear() }
  for (; scanned < requests.length; scanned++) {
    const r = requests[scanned]!
    const description = (r.body as { description?: unknown } | undefined)?.description
    if (r.method !== 'POST' || typeof description !== 'string') continue
    const marker = description.slice(0, description.indexOf('-->') + 3)
    if (!firstPost.has(marker)) firstPost.set(marker, r.at)
  }
  return firstPost.get(intakeMarker(intakeId))
}

export function latencyTable (rows: LatencyRow[]): string {
  return [
    '| rate | reports | p50 ms | p99 ms | max ms | non-200 |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.rate}/s | ${r.sent} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.max.toFixed(0)} | ${r.non200} |`)
  ].join('\n')
}
