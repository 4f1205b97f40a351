// `npm run bench`: every claim about speed and memory, measured side by side in one run
// and written to BENCHMARKS.md with its spread, its target and whether it is met.
// BENCH_FULL_DRAIN=1 runs the GitHub-limited drain at real scale (~13 min more);
// BENCH_ONLY=ingest,worker,latency,memory,budget,webmem,drain,sealing,signatures runs some sections only.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import * as openpgp from 'openpgp'
import { ingest, ingestTable } from './ingest.js'
import { workerThroughput, workerTable } from './worker.js'
import { latency, latencyTable } from './latency.js'
import { memory, memoryTable } from './memory.js'
import { signatureBombs, signatureBombTable } from './signature-bombs.js'
import { webMemory, webMemoryTable } from './web-memory.js'
import { budget, budgetTable } from './budget.js'
import { drain, drainTable } from './drain.js'
import { sealing } from './sealing.js'
import type { Target } from './lib.js'
import { mergeSections } from './merge.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const FULL_DRAIN = process.env.BENCH_FULL_DRAIN === '1'
const ALL = 'ingest,worker,latency,memory,budget,webmem,drain,sealing,signatures'
const ONLY = new Set((process.env.BENCH_ONLY ?? ALL).split(','))
const PARTIAL = ALL.split(',').some((name) => !ONLY.has(name))

function version (cmd: string, args: string[], pattern: RegExp): string {
  try {
    return pattern.exec(execFileSync(cmd, args, { encoding: 'utf8' }))?.[1] ?? 'unknown'
  } catch {
    return 'not installed'
  }
}

const pkgVersion = (name: string) => (JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version

async function main () {
  const started = Date.now()
  const load0 = loadavg()
  process.stdout.write('building dist/ (the benchmarks run the production entry)\n')
  execFileSync('npm', ['run', 'build'], { stdio: 'inherit' })
  const sections: string[] = []
  const targets: Target[] = []
  /** The worker's best Curve25519 rate (section 2), to tell whether 50/s saturates it. */
  let workerCapacity: number | undefined

  if (ONLY.has('ingest')) {
    process.stdout.write('ingest\n')
    const r = await ingest(ROUNDS)
    targets.push(...r.targets)
    sections.push(`## 1. Ingest: POST /inbound/raw vs a bare Fastify + Redis route

autocannon, 20 connections, in this process; each server is its own process on the same dedicated
\`redis-server\` (no persistence), flushed before every round. Every request is a distinct message
(fresh Message-ID, its own HMAC signature), so the gateway authenticates, seals (HPKE), stores,
queues (BullMQ) and writes its dedup marker for each; the baseline only stores the body. 20 KB: ${ROUNDS}
rounds of 5 s; 2 MB: ${ROUNDS} rounds of 240 requests (Redis memory). The web role runs at
LOG_LEVEL=warn (the baseline logs nothing). Median (min–max) over rounds.

${ingestTable(r.rows)}`)
  }

  if (ONLY.has('worker')) {
    process.stdout.write('worker throughput\n')
    const r = await workerThroughput(ROUNDS)
    targets.push(...r.targets)
    workerCapacity = Math.max(...r.rows.filter((row) => row.key === 'Curve25519').map((row) => row.ours.median))
    sections.push(`## 2. Worker throughput vs GnuPG

One worker process (\`node dist/main.js worker\`, WORKER_CONCURRENCY=4): PGP/MIME reports encrypted
by openpgp.js to the team key, all queued first, then timed from resuming the queue to the last
job completed: unseal, decrypt, parse, advisory POST to the schema-validating GitHub stub (no
write spacing: GITHUB_WRITE_INTERVAL_MS=0) and the acknowledgement to a real SMTP server (no
team notice). GnuPG: the same ciphertexts, one \`gpg --decrypt\` process per message, ${cpus().length} at a
time (one per core), decryption only. Stub and SMTP server run in the benchmark process.
Median (min–max) over ${ROUNDS} rounds.

${workerTable(r.rows)}`)
  }

  if (ONLY.has('latency')) {
    process.stdout.write('latency\n')
    const r = await latency(10)
    targets.push(...r.targets)
    sections.push(`## 3. Latency: webhook 200 to advisory request

Web and worker roles as separate processes; PGP/MIME reports (Curve25519) posted open-loop at a
steady rate for 10 s; latency = arrival of the advisory POST at the GitHub stub minus the
moment the 200 came back, per report.${saturation(workerCapacity)}

${latencyTable(r.rows)}`)
  }

  if (ONLY.has('memory')) {
    process.stdout.write('memory\n')
    const r = await memory()
    targets.push(...r.targets)
    sections.push(`## 4. Memory

Peak RSS (Linux VmHWM) of a fresh worker process (and of the web role that took the posts),
default WORKER_CONCURRENCY=4. The 25 MB message is PGP/MIME: a 13 MiB binary attachment,
base64 inside the encryption, armored outside.

${memoryTable(r.rows)}`)
  }

  if (ONLY.has('webmem')) {
    process.stdout.write('web memory\n')
    const r = await webMemory()
    targets.push(...r.targets)
    sections.push(`## 4b. Web role memory under hostile and heavy posts

Peak RSS (Linux VmHWM) of a fresh web role (\`node dist/main.js web\`, LOG_LEVEL=info,
WEB_MEMORY_MB=512 as on the shipped fly.toml machine) for each load; 503s (bodies over the
in-flight budget) retried after 250–500 ms as providers do; \`/healthz\` polled every 100 ms
from another thread throughout. One round each. The fault test \`test/faults/web-memory.fault.ts\`
runs the same loads under a real 512 MiB cgroup limit.

${webMemoryTable(r.rows)}`)
  }

  if (ONLY.has('budget')) {
    process.stdout.write('worker memory budget\n')
    const r = await budget()
    targets.push(...r.targets)
    sections.push(`## 4c. Worker memory budget and event loop

One worker process (\`node dist/main.js worker\`) per load, WORKER_MEMORY_MB=512 (the shipped
fly.toml's machine), WORKER_CONCURRENCY=4, DECRYPT_THREADS=2 (default), JOB_ATTEMPTS=1; the
messages are posted at once and the worker's peak RSS (VmHWM) read when every one has an
outcome. 25 MB messages: a random 25 MiB attachment (35 MiB raw, base64). Bombs: 60 MB of
compressible text, zlib, ~540 KB armored. Event-loop max delay: the worker's
\`monitorEventLoopDelay\` maximum over the run (prom-client gauge, reset just before posting).
A single run per load (the fault test \`test/faults/worker-memory.fault.ts\` proves the same
loads under a real 512 MiB cgroup).

${budgetTable(r.rows)}`)
  }

  if (ONLY.has('drain')) {
    process.stdout.write(`drain (${FULL_DRAIN ? 'full scale' : 'time compressed 10x'})\n`)
    const r = await drain(FULL_DRAIN)
    targets.push(...r.targets)
    sections.push(`## 5. GitHub-limited drain

300 reports queued at once; the stub enforces GitHub's content-creation limit, 80 creations per
window, refusing beyond it with 403 (secondary rate limit) or 429 and \`retry-after\`, and counts
every request that arrives while it has told the client to wait. ${FULL_DRAIN
  ? 'Full scale: 60 s window, 1 s spacing.'
  : 'Time compressed 10× so the default run stays short: 6 s window, 100 ms spacing (the client\'s GITHUB_WRITE_INTERVAL_MS and JOB_BACKOFF_MS scaled alike); `BENCH_FULL_DRAIN=1 npm run bench` runs it at real scale (~13 minutes).'}
"Least the limits allow" is max(3 full windows (80 + 80 + 80 + 60), 299 × spacing). GitHub asks
for both 80 a minute *and* 1 s between creations, so the default client (paced) can do no better
than 299 s; the unpaced rows show the retry-after handling alone (the request gate in
\`src/advisory/github-client.ts\` holds every request while a wait lasts; each refusal costs the
refused job one retry).

${drainTable(r.rows, r.scale)}`)
  }

  if (ONLY.has('sealing')) {
    process.stdout.write('sealing\n')
    sections.push(`## 6. Sealing raw messages before Redis (the choice made in issue 2)

Seals per second, one core, median (min–max) of 7 rounds of 700 ms. "ours" is RFC 9180 HPKE
(X25519, HKDF-SHA256, AES-256-GCM) on Node's native crypto (\`src/seal/hpke.ts\`); \`@hpke/core\` is
the same construction over WebCrypto; openpgp.js encrypts to a Curve25519 key.

${await sealing(7, 700)}`)
  }

  if (ONLY.has('signatures')) {
    process.stdout.write('signature bombs\n')
    const r = await signatureBombs()
    targets.push(...r.targets)
    sections.push(`## 7. Signature bombs

One valid signature repeated 500 times over 5 MB (the signer's key in Autocrypt) on each path
that verifies, beside the same message signed once; one round each, in a fresh process
(\`openReport\`, as the worker opens a message). Signature packets are counted and copies
dropped before openpgp.js checks any (before issue 15: 14–29 s and 2.5 GB per message).

${signatureBombTable(r.rows)}`)
  }

  const load1 = loadavg()
  const minutes = ((Date.now() - started) / 60_000).toFixed(1)
  const md = `# Benchmarks

Written by \`npm run bench\` on ${new Date().toISOString()} in ${minutes} min.

Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}, ${Math.round(totalmem() / 2 ** 30)} GiB; load average
${load0[0]?.toFixed(1)} at the start, ${load1[0]?.toFixed(1)} at the end (above ${cpus().length} means other work shared the cores).
Versions: Node ${process.version}, openpgp ${openpgp.config.versionString.replace('OpenPGP.js ', '')}, GnuPG ${version('gpg', ['--version'], /gpg \(GnuPG\) (\S+)/)},
redis-server ${version('redis-server', ['--version'], /v=(\S+)/)}, fastify ${pkgVersion('fastify')}, bullmq ${pkgVersion('bullmq')}, autocannon ${pkgVersion('autocannon')}.
Each figure is the median of ${ROUNDS} rounds with (min–max) beside it unless said otherwise. Figures
measured side by side in the same run are comparable; absolute numbers move with the machine.

## Targets

| measure | target | measured | met |
|---|---|---|---|
${targets.map((t) => `| ${t.name} | ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`).join('\n')}

${sections.join('\n\n')}
`
  if (PARTIAL) {
    const note = `Section${sections.length === 1 ? '' : 's'} ${sections.map((s) => /^## (\d+[a-z]?)\./.exec(s)?.[1] ?? '?').join(', ')} re-run alone (BENCH_ONLY=${[...ONLY].join(',')}) on ${new Date().toISOString()} in ${minutes} min, load average ${load0[0]?.toFixed(1)} to ${load1[0]?.toFixed(1)}; the rest is from the full run above.`
    writeFileSync('BENCHMARKS.md', mergeSections(readFileSync('BENCHMARKS.md', 'utf8'), sections, targets, note))
  } else {
    writeFileSync('BENCHMARKS.md', md)
  }
  process.stdout.write(`BENCHMARKS.md written (${minutes} min)\n`)
}

await main()

/**
 * Near its capacity a worker's latency is queueing: a few per cent of throughput swing
 * it by seconds from one run to the next. Say so when the offered rate is that close.
 */
function saturation (capacity: number | undefined): string {
  if (capacity === undefined || capacity * 0.9 > 50) return ''
  return ` At 50/s the worker runs at ${Math.round(50 / capacity * 100)}% of the rate section 2
measured for it (${capacity.toFixed(0)}/s, Curve25519): the figure is mostly queueing and moves by
seconds from run to run with a few per cent of throughput. Read it as "saturated", not as a
per-report cost.`
}
