// Small shared pieces of `npm run bench`: statistics, peaks, a dedicated Redis, signed posts.
import * as openpgp from 'openpgp'
import { generateSealKeyPair } from '../src/seal/hpke.js'
import { generateTeamKey } from '../src/pgp/keyring.js'
import { startGithubStub } from '../test/helpers/github-stub.js'
import { startSmtpSink } from '../test/helpers/smtp-sink.js'
import { startRedisServer } from '../test/helpers/redis-server.js'
import { readFileSync } from 'node:fs'
import { Redis } from 'ioredis'
import { signRaw } from '../src/inbound/hmac.js'

export interface Spread { median: number, min: number, max: number, n: number }

export function spread (values: number[]): Spread {
  const v = [...values].sort((a, b) => a - b)
  return { median: quantile(v, 0.5), min: v[0] ?? NaN, max: v[v.length - 1] ?? NaN, n: v.length }
}

/** Linear-interpolated quantile of sorted values. */
export function quantile (sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo)
}

export function fmt (s: Spread, digits = 0): string {
  const f = (x: number) => x.toFixed(digits)
  return s.n > 1 ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median)
}

/** Peak resident set size of a process so far (Linux VmHWM), in MiB. */
export function peakRssMiB (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN)
  return kb / 1024
}

export function rssMiB (pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN) / 1024
}

/** CPU time a process (all its threads) has used so far, user + system, in ms (/proc/<pid>/stat, 100 ticks/s). */
export function cpuMs (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/** Commands the Redis server has run so far (INFO commandstats: scripts' inner calls included). */
export async function redisCommands (redis: Redis): Promise<number> {
  const info = await redis.info('commandstats')
  let total = 0
  for (const m of info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) total += Number(m[1])
  return total
}

/** Reads the Redis server has processed so far (INFO stats): one per round trip of a client, however many commands it pipelined. */
export async function redisReads (redis: Redis): Promise<number> {
  const info = await redis.info('stats')
  return Number(/^total_reads_processed:(\d+)/m.exec(info)?.[1] ?? NaN)
}

export async function flush (url: string): Promise<void> {
  const redis = new Redis(url)
  await redis.flushall()
  redis.disconnect()
}

export function signedHeaders (secret: string, raw: Buffer): Record<string, string> {
  const ts = Math.floor(Date.now() / 1000)
  return { 'content-type': 'message/rfc822', 'x-intake-timestamp': String(ts), 'x-intake-signature': signRaw(secret, ts, raw) }
}

export async function waitUntil (fn: () => boolean | Promise<boolean>, what: string, ms = 600_000, every = 20): Promise<void> {
  const until = Date.now() + ms
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`bench: timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, every))
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * The node options the shipped worker runs with (package.json's start:worker, which
 * fly.toml and the image use too), or BENCH_WORKER_NODE_ARGS to compare others.
 */
export function workerNodeArgs (): string[] {
  const override = process.env.BENCH_WORKER_NODE_ARGS
  if (override !== undefined) return override.split(' ').filter(Boolean)
  const script = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts['start:worker'] ?? ''
  return /^node (.*?) ?dist\/main\.js/.exec(script)?.[1]?.split(' ').filter(Boolean) ?? []
}

export interface Target { name: string, target: string, measured: string, met: boolean }

/**
 * The peers every end-to-end bench runs against: a dedicated redis-server (no
 * persistence), the schema-validating GitHub stub, a real SMTP server, a seal key pair and
 * a team key. `close` stops the servers.
 */
export async function benchPeers () {
  const redis = await startRedisServer({ persistent: false })
  const stub = await startGithubStub({ repos: ['acme/security-reports'], token: 'ghp_bench' })
  const smtp = await startSmtpSink()
  const seal = generateSealKeyPair()
  const key = await generateTeamKey({ email: 'security@example.org' })
  const publicKey = await openpgp.readKey({ armoredKey: key.armoredPublic })
  const close = async (): Promise<void> => {
    await stub.close()
    await smtp.close()
    await redis.close()
  }
  return { redis, stub, smtp, seal, key, publicKey, close }
}

/** The worker's settings for a bench's peers: its keys, the GitHub stub, the SMTP sink, no reply cap. */
export function benchWorkerEnv (peers: { seal: { privateKey: string }, key: { armoredSecret: string }, stub: { url: string }, smtp: { url: string } }): Record<string, string> {
  return {
    SEAL_PRIVATE_KEY: peers.seal.privateKey,
    PGP_PRIVATE_KEY: peers.key.armoredSecret,
    GITHUB_API_URL: peers.stub.url,
    GITHUB_TOKEN: 'ghp_bench',
    GITHUB_OWNER: 'acme',
    GITHUB_DEFAULT_REPO: 'security-reports',
    GITHUB_WRITE_INTERVAL_MS: '0',
    SMTP_URL: peers.smtp.url,
    AUTO_REPLY_MAX_PER_HOUR: '1000000'
  }
}
