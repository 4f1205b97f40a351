// Shared pieces of the fault-injection suite (`npm run test:faults`): a canary-carrying
// report mix (plain, encrypted, undecryptable), the production entry as child processes
// against the schema-validating GitHub stub and a real SMTP server, and the secrecy
// sweep that runs after every scenario.
import type { Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import * as openpgp from 'openpgp'
import { signRaw } from '../../src/inbound/hmac.js'
import { generateSealKeyPair } from '../../src/seal/hpke.js'
import { intakeMarker } from '../../src/advisory/marker.js'
import { startGithubStub, type GithubStub } from '../helpers/github-stub.js'
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js'
import { teamKey, makeTeamKey } from '../helpers/team-key.js'
import { message, multipart, openpgpEncrypt, pgpMimeEncrypted, textPart } from '../helpers/gpg.js'
import { dumpValues, keysUnder } from '../helpers/redis.js'
import { freePort } from '../helpers/redis-server.js'

export const SECRET = 'faults-inbound-secret-0123456789'
const ADMIN = 'ops:faults-admin-password'
/** Report text that may appear in the advisory stub's bodies and nowhere else. */
export const CANARY = `CANARY-${randomBytes(6).toString('hex')}`

export interface Report { raw: Buffer, kind: 'plain' | 'encrypted' | 'undecryptable', n: number }

/** Report n of a mix: mostly plain, every 5th encrypted to the team key, every `undecryptableEvery`th (default 50; 0 = none) to a stranger's key. */
export async function makeReports (count: number, teamPublic: openpgp.PublicKey, wrongPublic: openpgp.PublicKey, undecryptableEvery = 50): Promise<Report[]> {
  const out: Report[] = []
  for (let n = 0; n < count; n++) {
    const env = { from: `Reporter ${n} <reporter${n}@example.net>`, subject: `Report ${n} ${CANARY}`, messageId: `fault-${n}-${randomBytes(4).toString('hex')}@example.net` }
    const text = `Report ${n}: path traversal in the loader. ${CANARY}\nVersions: <= 1.2.3\n`
    if (undecryptableEvery > 0 && n % undecryptableEvery === undecryptableEvery - 1) {
      out.push({ n, kind: 'undecryptable', raw: message(env, pgpMimeEncrypted(await openpgpEncrypt(textPart(text), { to: [wrongPublic] }))) })
    } else if (n % 5 === 4) {
      const inner = multipart('mixed', [textPart(text)])
      out.push({ n, kind: 'encrypted', raw: message({ ...env, subject: '...' }, pgpMimeEncrypted(await openpgpEncrypt(inner, { to: [teamPublic] }))) })
    } else {
      out.push({ n, kind: 'plain', raw: message(env, textPart(text)) })
    }
  }
  return out
}

export async function post (url: string, raw: Buffer): Promise<{ status: number, id?: string }> {
  const ts = Math.floor(Date.now() / 1000)
  try {
    const res = await fetch(`${url}/inbound/raw`, {
      method: 'POST',
      headers: { 'content-type': 'message/rfc822', 'x-intake-timestamp': String(ts), 'x-intake-signature': signRaw(SECRET, ts, raw) },
      body: raw
    })
    const body = await res.json() as { id?: string }
    return { status: res.status, ...(body.id === undefined ? {} : { id: body.id }) }
  } catch {
    return { status: 0 } // connection refused / reset: the web role itself is down
  }
}

export interface Rig {
  stub: GithubStub
  smtp: SmtpSink
  team: Awaited<ReturnType<typeof teamKey>>
  wrong: Awaited<ReturnType<typeof makeTeamKey>>
  dir: string
  /** the worker's METRICS_PORT listener */
  workerMetricsUrl: string
  /** environment for the web role */
  webEnv: (redisUrl: string, prefix: string) => Record<string, string>
  /** environment for the worker role */
  workerEnv: (redisUrl: string, prefix: string, more?: Record<string, string>) => Record<string, string>
}

export async function rig (t: Test): Promise<Rig> {
  const stub = await startGithubStub({ repos: ['acme/security-reports'], token: 'ghp_faults' })
  const smtp = await startSmtpSink()
  const team = await teamKey()
  const wrong = await makeTeamKey()
  const seal = generateSealKeyPair()
  const dir = mkdtempSync(join(tmpdir(), 'intake-faults-'))
  const metricsPort = await freePort()
  t.teardown(async () => { await stub.close(); await smtp.close().catch(() => {}); rmSync(dir, { recursive: true, force: true }) })
  const common = (redisUrl: string, prefix: string) => ({
    REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, OUTBOX_DIR: join(dir, 'outbox'), KEYS_DIR: join(dir, 'keys'), DATA_DIR: join(dir, '.data')
  })
  return {
    stub, smtp, team, wrong, dir,
    workerMetricsUrl: `http://127.0.0.1:${metricsPort}`,
    webEnv: (redisUrl, prefix) => ({ ...common(redisUrl, prefix), INBOUND_SECRET: SECRET, SEAL_PUBLIC_KEY: seal.publicKey, ADMIN_BASIC_AUTH: ADMIN }),
    workerEnv: (redisUrl, prefix, more = {}) => ({
      ...common(redisUrl, prefix),
      SEAL_PRIVATE_KEY: seal.privateKey,
      PGP_PRIVATE_KEY: team.armoredSecret,
      GITHUB_API_URL: stub.url, GITHUB_TOKEN: 'ghp_faults', GITHUB_OWNER: 'acme', GITHUB_DEFAULT_REPO: 'security-reports',
      GITHUB_WRITE_INTERVAL_MS: '0',
      SMTP_URL: smtp.url, TEAM_NOTIFY_EMAIL: 'team@example.org',
      JOB_ATTEMPTS: '25', JOB_BACKOFF_MS: '200', WORKER_CONCURRENCY: '4',
      METRICS_PORT: String(metricsPort), ADMIN_BASIC_AUTH: ADMIN,
      // The hourly cap on automatic replies (a flood guard, 120 by default) would hold back
      // most of 1,000 acknowledgements to 1,000 distinct reporters; these runs test recovery.
      AUTO_REPLY_MAX_PER_HOUR: '100000',
      ...more
    })
  }
}

/**
 * Posts every report as a provider would, retrying a 503 (load shedding on a busy
 * machine); returns the ids answered 200 and the count of other answers.
 */
export async function postAll (url: string, reports: Report[]): Promise<{ ids: string[], refused: number }> {
  const ids: string[] = []
  let refused = 0
  for (const report of reports) {
    let res = await post(url, report.raw)
    for (let tries = 0; res.status === 503 && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      res = await post(url, report.raw)
    }
    if (res.id !== undefined) ids.push(res.id)
    else refused++
  }
  return { ids, refused }
}

/** Both roles' /metrics, as Prometheus would scrape them (the worker's on its METRICS_PORT). */
export async function metricsOf (urls: string[]): Promise<string> {
  const texts = await Promise.all(urls.map(async (url) => {
    const res = await fetch(`${url}/metrics`, { headers: { authorization: `Basic ${Buffer.from(ADMIN).toString('base64')}` } })
    if (res.status !== 200) throw new Error(`${url}/metrics answered ${res.status}`)
    return await res.text()
  }))
  return texts.join('\n')
}

/** Intake ids with an advisory at the stub, from the marker each description starts with. */
export function advisedIntakes (stub: GithubStub): string[] {
  return stub.advisories.map((a) => /intake-id: ([A-Za-z0-9_-]+)/.exec(a.description ?? '')?.[1] ?? '?')
}

export function hasAdvisory (stub: GithubStub, intakeId: string): boolean {
  const marker = intakeMarker(intakeId)
  return stub.advisories.some((a) => a.description?.startsWith(marker) === true)
}

/** Distinct acknowledgement Message-IDs received by reporters (not the team). */
export function acknowledgements (smtp: SmtpSink): { deliveries: number, distinct: Set<string> } {
  const acks = smtp.messages.filter((m) => m.envelope.rcptTo.every((r) => r.address !== 'team@example.org'))
  const ids = acks.map((m) => /^Message-ID:\s*(\S+)/im.exec(m.raw.toString('latin1'))?.[1] ?? '?')
  return { deliveries: acks.length, distinct: new Set(ids) }
}

export async function waitFor<T> (fn: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 120_000): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v !== undefined && v !== false) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/**
 * The secrecy sweep: the canary is in the advisory stub's bodies (so it did flow) and
 * nowhere else — no Redis key or value under the prefix (quarantine entries, progress,
 * BullMQ failure reasons included), no log line of any process, no outgoing mail.
 */
export async function assertCanaryOnlyAtGithub (t: Test, where: { redisUrl: string, prefix: string, logs: string[], smtp: SmtpSink, stub: GithubStub, metrics?: string }): Promise<void> {
  t.ok(where.stub.advisories.some((a) => a.description?.includes(CANARY) === true), 'the canary reached the advisory bodies (positive control)')
  const redis = new Redis(where.redisUrl)
  try {
    const keys = await keysUnder(redis, where.prefix)
    t.ok(keys.length > 0, 'there is state under the prefix to check')
    const values = Buffer.concat(await dumpValues(redis, where.prefix))
    t.equal(values.indexOf(CANARY), -1, 'no canary in any Redis key or value under the prefix')
    const quarantine = await redis.hgetall(`${where.prefix}:gw:quarantine`)
    t.notMatch(JSON.stringify(quarantine), CANARY, 'no canary in quarantine metadata')
  } finally {
    redis.disconnect()
  }
  t.notOk(where.logs.some((l) => l.includes(CANARY)), 'no canary in any log line')
  t.notOk(where.smtp.messages.some((m) => m.raw.includes(CANARY)), 'no canary in any outgoing mail')
  for (const r of where.stub.requests) {
    if (r.method === 'POST') continue // the advisory bodies themselves
    t.notMatch(JSON.stringify({ path: r.path, query: r.query }), CANARY, 'no canary in other GitHub requests')
  }
  if (where.metrics !== undefined) {
    t.ok(where.metrics.includes('# TYPE'), 'metrics were scraped')
    t.notOk(where.metrics.includes(CANARY), 'no canary in /metrics of either role')
  }
}
