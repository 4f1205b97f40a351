// The whole gateway in-process (web + worker) against real Redis, for end-to-end tests:
// unique queue prefix, every log line captured (to prove report text never reaches
// it), and everything closed and removed at teardown.
import { Writable } from 'node:stream'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { Redis } from 'ioredis'
import { Queue } from 'bullmq'
import { createLogger } from '../../src/log.js'
import { buildWeb, type Web } from '../../src/roles/web.js'
import { startWorker, type RunningWorker } from '../../src/roles/worker.js'
import { signRaw } from '../../src/inbound/hmac.js'
import { generateSealKeyPair, importPublicKey } from '../../src/seal/hpke.js'
import { QUEUE } from '../../src/queue/jobs.js'
import { testConfig } from './config.js'
import type { Config } from '../../src/config.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from './redis.js'
import type { FetchText } from '../../src/inbound/sns-verify.js'

export const INBOUND_SECRET = 'e2e-inbound-secret'

export interface Gateway {
  prefix: string
  dir: string
  logs: string[]
  redis: Redis
  queue: Queue
  /** The web role (listen on port 0 for real HTTP clients). */
  web: Web
  post: (raw: Buffer) => Promise<{ status: number, id?: string }>
  /** Any other request to the web role (fastify inject). */
  inject: (opts: { method: 'GET' | 'POST', url: string, headers?: Record<string, string>, payload?: string | Buffer }) => Promise<{ statusCode: number, body: string }>
  waitFor: <T>(fn: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms?: number) => Promise<T>
  restartWorker: (env?: Record<string, string>) => Promise<void>
  /** The current worker (metrics, readiness checks, close). */
  worker: () => RunningWorker
  /** The configuration the gateway runs with (for CLI commands in tests). */
  config: () => Config
  /** Finished files in outbox/advisories or outbox/mail (writers use dot-temp files, then rename). */
  outbox: (kind: 'advisories' | 'mail') => string[]
}

export async function startGateway (t: Test, env: Record<string, string>, opts: { fetchText?: FetchText } = {}): Promise<Gateway> {
  const prefix = uniquePrefix('e2e')
  const dir = mkdtempSync(join(tmpdir(), 'intake-e2e-'))
  const seal = generateSealKeyPair()
  const logs: string[] = []
  const sink = new Writable({ write (chunk, _enc, cb) { logs.push(String(chunk)); cb() } })
  const log = createLogger({ level: 'debug', production: false, destination: sink })
  const baseEnv = {
    REDIS_URL, QUEUE_PREFIX: prefix, OUTBOX_DIR: join(dir, 'outbox'), KEYS_DIR: join(dir, 'keys'), DATA_DIR: join(dir, '.data'),
    SEAL_PRIVATE_KEY: seal.privateKey, INBOUND_SECRET, JOB_BACKOFF_MS: '50', JOB_ATTEMPTS: '3', LOG_LEVEL: 'debug'
  }
  let config = testConfig({ ...baseEnv, ...env })
  const web = await buildWeb({ config, log, sealPublicKey: importPublicKey(seal.publicKey), inboundSecret: INBOUND_SECRET, ...(opts.fetchText !== undefined ? { fetchText: opts.fetchText } : {}) })
  let worker = await startWorker({ config, log, metrics: web.metrics })
  const redis = new Redis(REDIS_URL)
  const queue = new Queue(QUEUE, { connection: redis, prefix })

  t.teardown(async () => {
    await web.close()
    await worker.close()
    await queue.close()
    redis.disconnect()
    await dropPrefix(prefix)
    rmSync(dir, { recursive: true, force: true })
  })

  return {
    prefix,
    dir,
    logs,
    redis,
    queue,
    web,
    async post (raw) {
      const ts = Math.floor(Date.now() / 1000)
      const res = await web.fastify.inject({
        method: 'POST',
        url: '/inbound/raw',
        headers: { 'content-type': 'message/rfc822', 'x-intake-timestamp': String(ts), 'x-intake-signature': signRaw(INBOUND_SECRET, ts, raw) },
        payload: raw
      })
      return { status: res.statusCode, ...(res.statusCode === 200 ? { id: (res.json() as { id: string }).id } : {}) }
    },
    async waitFor (fn, what, ms = 15_000) {
      const until = Date.now() + ms
      for (;;) {
        const v = await fn()
        if (v !== undefined && v !== false) return v
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
        await new Promise((r) => setTimeout(r, 25))
      }
    },
    worker: () => worker,
    async inject (opts) {
      const res = await web.fastify.inject(opts)
      return { statusCode: res.statusCode, body: res.body }
    },
    config: () => config,
    outbox (kind) {
      try {
        return readdirSync(join(dir, 'outbox', kind)).filter((f) => !f.startsWith('.')).sort()
      } catch {
        return []
      }
    },
    async restartWorker (more = {}) {
      await worker.close()
      config = testConfig({ ...baseEnv, ...env, ...more })
      worker = await startWorker({ config, log, metrics: web.metrics })
    }
  }
}
