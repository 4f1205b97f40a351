// Ingest: POST /inbound/raw (HMAC check, HPKE seal, store, queue, dedup marker) against
// a bare Fastify route that only stores the same body in the same Redis, both as their
// own process, loaded by autocannon in this one, rounds interleaved so machine noise
// hits both alike. Every request carries a distinct message (a fresh Message-ID), so
// the gateway never takes the cheap redelivery path.
import autocannon from 'autocannon'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { startChildRole } from '../test/helpers/child-gateway.js'
import { startRedisServer } from '../test/helpers/redis-server.js'
import { generateSealKeyPair } from '../src/seal/hpke.js'
import { flush, fmt, signedHeaders, spread, type Spread, type Target } from './lib.js'

const SECRET = 'bench-inbound-secret-0123456789abcdef'

export interface IngestRow { size: string, ours: Run, baseline: Run, ratio: number }
interface Run { rps: Spread, p50: Spread, p99: Spread, non2xx: number, errors: number }

function messageFactory (bytes: number) {
  const filler = randomBytes(Math.ceil(bytes * 0.75)).toString('base64').slice(0, bytes - 400).replace(/.{76}/g, '$&\r\n')
  const body = Buffer.from(`\r\n${filler}\r\n`)
  let n = 0
  return () => {
    const head = Buffer.from(`From: Bench <bench@example.net>\r\nTo: security@example.org\r\nSubject: bench ${n}\r\nMessage-ID: <bench-${n++}-${randomBytes(6).toString('hex')}@example.net>\r\nDate: Sat, 28 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain\r\n`)
    return Buffer.concat([head, body])
  }
}

async function load (url: string, bytes: number, opts: { duration?: number, amount?: number }): Promise<{ rps: number, p50: number, p99: number, non2xx: number, errors: number }> {
  const next = messageFactory(bytes)
  const result = await autocannon({
    url: `${url}/inbound/raw`,
    connections: 20,
    method: 'POST',
    ...(opts.amount !== undefined ? { amount: opts.amount } : { duration: opts.duration ?? 5 }),
    requests: [{
      setupRequest: (req) => {
        const raw = next()
        return { ...req, method: 'POST', headers: signedHeaders(SECRET, raw), body: raw }
      }
    }]
  })
  const seconds = result.duration
  return { rps: result['2xx'] / seconds, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors + result.timeouts }
}

async function startBaseline (redisUrl: string): Promise<{ url: string, stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/baseline-server.ts'], { env: { ...process.env, REDIS_URL: redisUrl }, stdio: ['ignore', 'pipe', 'inherit'] })
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (d: string) => { const m = /listening at (\S+)/.exec(d); if (m?.[1] !== undefined) resolve(m[1]) })
    child.once('exit', (code) => reject(new Error(`baseline exited ${code}`)))
  })
  return { url, stop: async () => { child.kill('SIGTERM'); await new Promise((resolve) => child.once('exit', resolve)) } }
}

export async function ingest (rounds: number): Promise<{ rows: IngestRow[], targets: Target[] }> {
  const redis = await startRedisServer({ persistent: false })
  const seal = generateSealKeyPair()
  const web = await startChildRole('web', {
    REDIS_URL: redis.url, QUEUE_PREFIX: 'bench', INBOUND_SECRET: SECRET, SEAL_PUBLIC_KEY: seal.publicKey, LOG_LEVEL: 'warn', DATA_DIR: '/tmp/intake-bench-data'
  }, [], { entry: 'dist' })
  const baseline = await startBaseline(redis.url)
  const rows: IngestRow[] = []
  try {
    // 2 MB: a fixed number of requests per round, so Redis holds at most ~0.5 GB.
    for (const [label, bytes, opts] of [['20 KB', 20 * 1024, { duration: 5 }], ['2 MB', 2 * 1024 * 1024, { amount: 240 }]] as const) {
      await load(web.url, bytes, { amount: 200 }) // warm-up (JIT, connections)
      await load(baseline.url, bytes, { amount: 200 })
      const ours: Awaited<ReturnType<typeof load>>[] = []
      const base: Awaited<ReturnType<typeof load>>[] = []
      for (let r = 0; r < rounds; r++) {
        await flush(redis.url)
        base.push(await load(baseline.url, bytes, opts))
        await flush(redis.url)
        ours.push(await load(web.url, bytes, opts))
        process.stdout.write(`  ingest ${label} round ${r + 1}: ours ${Math.round(ours.at(-1)!.rps)}/s, baseline ${Math.round(base.at(-1)!.rps)}/s\n`)
      }
      const summary = (runs: typeof ours): Run => ({
        rps: spread(runs.map((x) => x.rps)),
        p50: spread(runs.map((x) => x.p50)),
        p99: spread(runs.map((x) => x.p99)),
        non2xx: runs.reduce((a, x) => a + x.non2xx, 0),
        errors: runs.reduce((a, x) => a + x.errors, 0)
      })
      const o = summary(ours)
      const b = summary(base)
      rows.push({ size: label, ours: o, baseline: b, ratio: o.rps.median / b.rps.median })
    }
  } finally {
    await web.kill()
    await baseline.stop()
    await redis.close()
  }
  const small = rows[0]!
  return {
    rows,
    targets: [
      { name: 'Ingest 20 KB vs bare Fastify+Redis', target: '≥ 0.5×', measured: `${small.ratio.toFixed(2)}×`, met: small.ratio >= 0.5 },
      { name: 'Ingest 20 KB p99 latency', target: '< 25 ms', measured: `${fmt(small.ours.p99)} ms`, met: small.ours.p99.median < 25 }
    ]
  }
}

export function ingestTable (rows: IngestRow[]): string {
  const line = (r: IngestRow) =>
    `| ${r.size} | ${fmt(r.ours.rps)} | ${fmt(r.ours.p50)} / ${fmt(r.ours.p99)} | ${fmt(r.baseline.rps)} | ${fmt(r.baseline.p50)} / ${fmt(r.baseline.p99)} | ${r.ratio.toFixed(2)}× | ${r.ours.non2xx + r.ours.errors} / ${r.baseline.non2xx + r.baseline.errors} |`
  return [
    '| message | gateway req/s | gateway p50 / p99 ms | baseline req/s | baseline p50 / p99 ms | ratio | non-200 or errors (gateway / baseline) |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(line)
  ].join('\n')
}
