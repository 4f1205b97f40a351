// Worker throughput: encrypted reports fully processed (unseal, decrypt, parse, verify,
// advisory to the schema-validating GitHub stub without pacing, acknowledgement to a
// real SMTP server) per second by one worker process (the built production entry),
// for a Curve25519 and an RSA-4096 team key; beside it, in the same run, GnuPG
// decrypting the same messages, one `gpg --decrypt` process per message.
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { cpus } from 'node:os'
import * as openpgp from 'openpgp'
import { createIntake } from '../src/inbound/intake.js'
import { QUEUE } from '../src/queue/jobs.js'
import { generateSealKeyPair, importPublicKey } from '../src/seal/hpke.js'
import { generateTeamKey } from '../src/pgp/keyring.js'
import { startChildRole } from '../test/helpers/child-gateway.js'
import { startGithubStub } from '../test/helpers/github-stub.js'
import { startSmtpSink } from '../test/helpers/smtp-sink.js'
import { startRedisServer } from '../test/helpers/redis-server.js'
import { createGpg, message, multipart, openpgpEncrypt, pgpMimeEncrypted, textPart } from '../test/helpers/gpg.js'
import { cpuMs, flush, fmt, redisCommands, redisReads, spread, waitUntil, type Spread, type Target, benchWorkerEnv, workerNodeArgs } from './lib.js'

export interface WorkerRow { key: string, threads: number, ours: Spread, gnupg: Spread, ratio: number, reports: number, cpuMs: Spread, commands: Spread, roundTrips: Spread }

/** DECRYPT_THREADS settings compared side by side (BENCH_DECRYPT_THREADS=0,2). */
const THREADS = (process.env.BENCH_DECRYPT_THREADS ?? '0,1,2').split(',').map(Number)

const REPORT = 'Hello team,\n\nthe fetch server follows ../ in paths, so GET /files/..%2f..%2fetc/passwd\nreturns the host\'s password file. Versions: <= 0.2.1.\n\nSteps:\n1. run the server\n2. curl it\n'.repeat(4)

async function encryptedReports (count: number, publicKey: openpgp.PublicKey): Promise<{ raw: Buffer[], armored: string[] }> {
  const raw: Buffer[] = []
  const armored: string[] = []
  for (let n = 0; n < count; n++) {
    const ciphertext = await openpgpEncrypt(multipart('mixed', [textPart(`${REPORT}\nreport ${n}\n`)]), { to: [publicKey] })
    armored.push(ciphertext)
    raw.push(message({ from: `Reporter ${n} <reporter${n}@example.net>`, subject: '...', messageId: `bench-w-${n}-${Math.random().toString(36).slice(2)}@example.net` }, pgpMimeEncrypted(ciphertext)))
  }
  return { raw, armored }
}

async function gnupgRate (armoredSecret: string, ciphertexts: string[], parallel: number): Promise<number> {
  const gpg = await createGpg()
  try {
    await gpg.importKey(armoredSecret)
    await gpg.run(['--decrypt'], ciphertexts[0]) // agent up, key cached
    let next = 0
    const start = performance.now()
    await Promise.all(Array.from({ length: parallel }, async () => {
      while (next < ciphertexts.length) await gpg.run(['--decrypt'], ciphertexts[next++])
    }))
    return ciphertexts.length / ((performance.now() - start) / 1000)
  } finally {
    await gpg.close()
  }
}

export async function workerThroughput (rounds: number, env: Record<string, string> = {}): Promise<{ rows: WorkerRow[], targets: Target[] }> {
  const redis = await startRedisServer({ persistent: false })
  const stub = await startGithubStub({ repos: ['acme/security-reports'], token: 'ghp_bench' })
  const smtp = await startSmtpSink()
  const seal = generateSealKeyPair()
  const rows: WorkerRow[] = []
  const parallel = cpus().length
  try {
    for (const [label, type, count] of [['Curve25519', 'curve25519', 400], ['RSA-4096', 'rsa4096', 200]] as const) {
      const key = await generateTeamKey({ email: 'security@example.org', type })
      const publicKey = await openpgp.readKey({ armoredKey: key.armoredPublic })
      const reports = await encryptedReports(count, publicKey)
      const ours = new Map<number, number[]>(THREADS.map((n) => [n, []]))
      const cpu = new Map<number, number[]>(THREADS.map((n) => [n, []]))
      const commands = new Map<number, number[]>(THREADS.map((n) => [n, []]))
      const roundTrips = new Map<number, number[]>(THREADS.map((n) => [n, []]))
      const gnupg: number[] = []
      for (let r = 0; r < rounds; r++) {
        for (const threads of THREADS) {
          await flush(redis.url)
          smtp.messages.length = 0
          const prefix = `bench-w${r}-${threads}`
          const conn = new Redis(redis.url, { maxRetriesPerRequest: null })
          const queue = new Queue(QUEUE, { connection: conn, prefix })
          await queue.pause() // queue everything first, then time the drain alone
          const accept = createIntake({ redis: conn, queue, sealKey: importPublicKey(seal.publicKey), prefix, retry: { jobAttempts: 3, jobBackoffMs: 100 } })
          for (const raw of reports.raw) await accept(raw, 'raw')
          const worker = await startChildRole('worker', {
            REDIS_URL: redis.url,
            QUEUE_PREFIX: prefix,
            ...benchWorkerEnv({ seal, key, stub, smtp }),
            DATA_DIR: '/tmp/intake-bench-data',
            DECRYPT_THREADS: String(threads),
            ...env
          }, [], { entry: 'dist', nodeArgs: workerNodeArgs() })
          // Redis commands the drain costs the worker: the server's total, less the INFO
          // calls and this loop's own polls (measured once: one poll's commands).
          const beforePoll = await redisCommands(conn)
          const readsBeforePoll = await redisReads(conn)
          await queue.getJobCounts('completed', 'failed')
          const perPoll = await redisCommands(conn) - beforePoll - 2
          const readsPerPoll = await redisReads(conn) - readsBeforePoll - 2
          let polls = 0
          const pid = worker.child.pid as number
          const cpu0 = cpuMs(pid)
          const commands0 = await redisCommands(conn)
          const reads0 = await redisReads(conn)
          const start = performance.now()
          await queue.resume()
          await waitUntil(async () => {
            polls++
            const c = await queue.getJobCounts('completed', 'failed')
            return (c.completed ?? 0) + (c.failed ?? 0) >= count
          }, `${label} drain`, 600_000, 200)
          ours.get(threads)!.push(count / ((performance.now() - start) / 1000))
          cpu.get(threads)!.push((cpuMs(pid) - cpu0) / count)
          commands.get(threads)!.push((await redisCommands(conn) - commands0 - 2 - polls * perPoll) / count)
          // the worker's own, less this loop's polls and INFO calls; BullMQ's blocking waits count too
          roundTrips.get(threads)!.push((await redisReads(conn) - reads0 - 2 - polls * readsPerPoll) / count)
          const failed = await queue.getFailedCount()
          await worker.kill()
          await queue.close()
          conn.disconnect()
          if (failed > 0) throw new Error(`bench: ${failed} ${label} reports failed`)
          if (smtp.messages.length < count) throw new Error(`bench: ${smtp.messages.length} acknowledgements for ${count} reports`)
          process.stdout.write(`  worker ${label} round ${r + 1}, DECRYPT_THREADS=${threads}: ${ours.get(threads)!.at(-1)!.toFixed(0)}/s\n`)
        }
        gnupg.push(await gnupgRate(key.armoredSecret, reports.armored, parallel))
        process.stdout.write(`  GnuPG ${label} round ${r + 1}: ${gnupg.at(-1)!.toFixed(0)}/s\n`)
      }
      const g = spread(gnupg)
      for (const threads of THREADS) {
        const o = spread(ours.get(threads)!)
        rows.push({ key: label, threads, ours: o, gnupg: g, ratio: o.median / g.median, reports: count, cpuMs: spread(cpu.get(threads)!), commands: spread(commands.get(threads)!), roundTrips: spread(roundTrips.get(threads)!) })
      }
    }
    if (stub.invalidRequests.length > 0) throw new Error('bench: the GitHub stub rejected requests as invalid')
  } finally {
    await stub.close()
    await smtp.close()
    await redis.close()
  }
  const curve = rows.filter((r) => r.key === 'Curve25519').sort((a, b) => b.ratio - a.ratio)[0]!
  const rsa = rows.filter((r) => r.key === 'RSA-4096').sort((a, b) => b.ratio - a.ratio)[0]!
  const cheapest = rows.filter((r) => r.key === 'Curve25519').sort((a, b) => a.cpuMs.median - b.cpuMs.median)[0]!
  return {
    rows,
    targets: [
      { name: `Worker, Curve25519 key, vs GnuPG one process per message (best: DECRYPT_THREADS=${curve.threads})`, target: '≥ 3×', measured: `${curve.ratio.toFixed(2)}×`, met: curve.ratio >= 3 },
      { name: `Worker, RSA-4096 key, vs GnuPG one process per message (best: DECRYPT_THREADS=${rsa.threads})`, target: '≥ 1×', measured: `${rsa.ratio.toFixed(2)}×`, met: rsa.ratio >= 1 },
      { name: `Worker CPU per report, Curve25519, small (ms; DECRYPT_THREADS=${cheapest.threads})`, target: '≤ 8 ms', measured: `${fmt(cheapest.cpuMs, 1)} ms`, met: cheapest.cpuMs.median <= 8 },
      { name: 'Redis commands per report (worker, Curve25519, small)', target: '≤ 45', measured: fmt(cheapest.commands), met: cheapest.commands.median <= 45 },
      { name: 'Redis round trips per report (worker, Curve25519, small; server reads)', target: '≤ 10', measured: fmt(cheapest.roundTrips, 1), met: cheapest.roundTrips.median <= 10 }
    ]
  }
}

export function workerTable (rows: WorkerRow[]): string {
  return [
    '| team key | DECRYPT_THREADS | reports per round | gateway worker, reports/s | GnuPG decrypt only, messages/s | ratio | worker CPU per report, ms | Redis commands per report | Redis round trips per report |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.key} | ${r.threads} | ${r.reports} | ${fmt(r.ours)} | ${fmt(r.gnupg)} | ${r.ratio.toFixed(2)}× | ${fmt(r.cpuMs, 1)} | ${fmt(r.commands)} | ${fmt(r.roundTrips, 1)} |`)
  ].join('\n')
}
