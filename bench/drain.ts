// GitHub-limited drain: 300 reports queued at once against a stub that enforces GitHub's
// content-creation limit (80 per minute, refused beyond it with 403 or 429 and
// retry-after). All must be created, no request may arrive while the stub said wait,
// and the total time is compared with the least the limits allow.
//
// The full run takes ~13 minutes (GitHub's limits are per minute), so by default time is
// compressed 10×: the stub's window is 6 s and the client's write spacing 100 ms, which
// keeps every ratio. BENCH_FULL_DRAIN=1 runs it at GitHub's real scale.
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { createIntake } from '../src/inbound/intake.js'
import { QUEUE } from '../src/queue/jobs.js'
import { generateSealKeyPair, importPublicKey } from '../src/seal/hpke.js'
import { generateTeamKey } from '../src/pgp/keyring.js'
import { startChildRole } from '../test/helpers/child-gateway.js'
import { startGithubStub } from '../test/helpers/github-stub.js'
import { startSmtpSink } from '../test/helpers/smtp-sink.js'
import { startRedisServer } from '../test/helpers/redis-server.js'
import { plainMessage } from '../test/helpers/messages.js'
import { waitUntil, type Target, benchWorkerEnv } from './lib.js'

const REPORTS = 300
const PER_MINUTE = 80

export interface DrainRow {
  mode: string
  refusal: 403 | 429
  created: number
  seconds: number
  minimum: number
  refusals: number
  violations: number
  invalid: number
}

export async function drain (full: boolean): Promise<{ rows: DrainRow[], scale: number, targets: Target[] }> {
  const scale = full ? 1 : 10
  const windowMs = 60_000 / scale
  const spacing = 1000 / scale
  const redis = await startRedisServer({ persistent: false })
  const smtp = await startSmtpSink()
  const seal = generateSealKeyPair()
  const key = await generateTeamKey({ email: 'security@example.org' })
  const rows: DrainRow[] = []
  const modes: Array<[string, number, 403 | 429]> = [
    [`paced (${spacing} ms between creations)`, spacing, 403],
    ['unpaced: retry-after only', 0, 403],
    ['unpaced: retry-after only', 0, 429]
  ]
  try {
    for (const [mode, interval, refusal] of modes) {
      const stub = await startGithubStub({ repos: ['acme/security-reports'], token: 'ghp_bench' })
      stub.setRateLimit({ perMinute: PER_MINUTE, windowMs, status: refusal })
      const prefix = `bench-drain-${rows.length}`
      const conn = new Redis(redis.url, { maxRetriesPerRequest: null })
      const queue = new Queue(QUEUE, { connection: conn, prefix })
      await queue.pause()
      const accept = createIntake({ redis: conn, queue, sealKey: importPublicKey(seal.publicKey), prefix, retry: { jobAttempts: 8, jobBackoffMs: 5000 / scale } })
      for (let n = 0; n < REPORTS; n++) await accept(plainMessage({ messageId: `drain-${rows.length}-${n}@example.net`, from: `r${n}@example.net`, body: `Report ${n}: open redirect.` }), 'raw')
      const worker = await startChildRole('worker', {
        REDIS_URL: redis.url,
        QUEUE_PREFIX: prefix,
        ...benchWorkerEnv({ seal, key, stub, smtp }),
        GITHUB_WRITE_INTERVAL_MS: String(interval),
        JOB_BACKOFF_MS: String(5000 / scale),
        DATA_DIR: '/tmp/intake-bench-data'
      }, [], { entry: 'dist' })
      await queue.resume()
      await waitUntil(() => stub.advisories.length >= REPORTS, `drain (${mode})`, 30 * 60_000, 200)
      const posts = stub.requests.filter((r) => r.method === 'POST')
      const first = posts[0]?.at ?? 0
      const last = posts.filter((r) => r.status === 201).at(-1)?.at ?? 0
      // The least time the limits allow: 80 per window, and the spacing between creations.
      const minimum = Math.max(Math.floor((REPORTS - 1) / PER_MINUTE) * windowMs, (REPORTS - 1) * interval) / 1000
      rows.push({
        mode,
        refusal,
        created: stub.advisories.length,
        seconds: (last - first) / 1000,
        minimum,
        refusals: posts.filter((r) => r.status === 403 || r.status === 429).length,
        violations: stub.violations.length,
        invalid: stub.invalidRequests.length
      })
      process.stdout.write(`  drain, ${mode}, ${refusal}: ${rows.at(-1)!.seconds.toFixed(1)} s for ${REPORTS} (least ${minimum} s), ${rows.at(-1)!.violations} violations\n`)
      await worker.kill()
      await queue.close()
      conn.disconnect()
      await stub.close()
    }
  } finally {
    await smtp.close()
    await redis.close()
  }
  const ok = rows.every((r) => r.created === REPORTS && r.violations === 0 && r.invalid === 0)
  const paced = rows[0]!
  return {
    rows,
    scale,
    targets: [
      { name: 'GitHub-limited drain: all created, no request while told to wait', target: `${REPORTS}/${REPORTS}, 0 violations`, measured: rows.map((r) => `${r.created}/${REPORTS}, ${r.violations}`).join('; '), met: ok },
      // GitHub's limits are both 80 creations a minute and 1 s between them; the default client keeps both.
      { name: 'GitHub-limited drain, default client: total time vs the least GitHub\'s limits allow', target: 'close (≤ 1.1×)', measured: `${(paced.seconds / paced.minimum).toFixed(2)}×`, met: paced.seconds / paced.minimum <= 1.1 }
    ]
  }
}

export function drainTable (rows: DrainRow[], scale: number): string {
  const real = (s: number) => scale === 1 ? `${s.toFixed(1)} s` : `${s.toFixed(1)} s (= ${(s * scale).toFixed(0)} s at real scale)`
  return [
    '| client | refusal | created | total time | least the limits allow | ratio | refusals received | requests while told to wait | invalid requests |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.mode} | ${r.refusal} | ${r.created}/${REPORTS} | ${real(r.seconds)} | ${real(r.minimum)} | ${(r.seconds / r.minimum).toFixed(2)}× | ${r.refusals} | ${r.violations} | ${r.invalid} |`)
  ].join('\n')
}
