// Issue 15, "How it is proved": the web role (production entry, a child process) under a
// real 512 MiB memory limit (cgroup v1) takes a 39 MB unauthenticated body and then 20
// concurrent 25 MB authenticated bodies. Nothing is killed; every message is answered
// 200 (after 503s, retried as providers do) and ends sealed and queued; /healthz answers
// throughout with p99 under 1 s. Peak memory and latency are reported (bench/ has them as
// measures).
import t from 'tap'
import { Redis } from 'ioredis'
import { Queue } from 'bullmq'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startChildRole } from '../helpers/child-gateway.js'
import { cgroupUnavailable, memoryCgroup } from '../helpers/cgroup.js'
import { healthPoller, percentile } from '../helpers/health-poller.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'
import { signRaw } from '../../src/inbound/hmac.js'
import { generateSealKeyPair } from '../../src/seal/hpke.js'
import { QUEUE, gatewayKeys } from '../../src/queue/jobs.js'

const LIMIT = 512 * 1024 * 1024
const SECRET = 'web-memory-inbound-secret-0123456789'
const MB = 1000 * 1000

/** A plain message of about `bytes`, distinct per n. */
function bigMessage (n: number, bytes: number): Buffer {
  const line = 'The loader resolves ../ in archive entries before the prefix check, so a crafted tar\r\n'
  const head = `From: Reporter ${n} <reporter${n}@example.net>\r\nTo: security@stacklok.com\r\nSubject: large report ${n}\r\nMessage-ID: <web-memory-${n}-${Date.now()}@example.net>\r\nContent-Type: text/plain\r\n\r\n`
  return Buffer.concat([Buffer.from(head), Buffer.from(line.repeat(Math.ceil(bytes / line.length)))])
}

interface Signed { body: Buffer, ts: number, signature: string }

/** Signed once (the 300 s window outlasts the run): no 25 MB HMAC in the test's loop per retry. */
function signed (body: Buffer, signature?: string): Signed {
  const ts = Math.floor(Date.now() / 1000)
  return { body, ts, signature: signature ?? signRaw(SECRET, ts, body) }
}

function postRaw (url: string, m: Signed): Promise<{ status: number, id?: string }> {
  return fetch(`${url}/inbound/raw`, {
    method: 'POST',
    headers: { 'content-type': 'message/rfc822', 'x-intake-timestamp': String(m.ts), 'x-intake-signature': m.signature },
    body: m.body
  }).then(async (res) => ({ status: res.status, ...(await res.json() as { id?: string }) }), () => ({ status: 0 }))
}

/** As a provider does: 503 (shed) is retried until the message is taken. */
async function deliver (url: string, m: Signed, shed: { count: number }): Promise<{ status: number, id?: string }> {
  for (let attempt = 0; ; attempt++) {
    const res = await postRaw(url, m)
    if (res.status !== 503 || attempt > 200) return res
    shed.count++
    await new Promise((resolve) => setTimeout(resolve, 250 + Math.random() * 250))
  }
}

const skip = cgroupUnavailable()
t.test('web role under 512 MiB: a 39 MB unauthenticated body, then 20 concurrent 25 MB reports', { skip: skip ?? false }, async (t) => {
  const cg = memoryCgroup('web-memory', LIMIT)
  const dir = mkdtempSync(join(tmpdir(), 'intake-web-memory-'))
  const prefix = uniquePrefix('fault-webmem')
  const logs: string[] = []
  const web = await startChildRole('web', {
    REDIS_URL, QUEUE_PREFIX: prefix, INBOUND_SECRET: SECRET, SEAL_PUBLIC_KEY: generateSealKeyPair().publicKey,
    KEYS_DIR: join(dir, 'keys'), DATA_DIR: join(dir, '.data'), OUTBOX_DIR: join(dir, 'outbox'),
    LOG_LEVEL: 'info', INBOUND_RATE_LIMIT: '100000/60'
  }, logs, { cgroup: cg.dir })
  const redis = new Redis(REDIS_URL)
  const queue = new Queue(QUEUE, { connection: redis, prefix })
  t.teardown(async () => {
    await web.kill('SIGKILL')
    await queue.close()
    redis.disconnect()
    await dropPrefix(prefix)
    cg.remove()
    rmSync(dir, { recursive: true, force: true })
  })
  const baseline = cg.maxUsage()
  const forged = signed(Buffer.alloc(39 * MB, 'A'), 'v1=' + 'f'.repeat(64))
  const bodies = Array.from({ length: 20 }, (_, n) => signed(bigMessage(n, 25 * MB)))
  const poller = healthPoller(web.url)

  const unauth = await postRaw(web.url, forged)
  t.equal(unauth.status, 401, '39 MB with a wrong signature: 401')
  await new Promise((resolve) => setTimeout(resolve, 1000)) // what used to follow it: minutes of CPU
  const unauthPeak = cg.maxUsage()

  const shed = { count: 0 }
  const started = performance.now()
  const answers = await Promise.all(bodies.map((b) => deliver(web.url, b, shed)))
  const seconds = (performance.now() - started) / 1000
  const health = await poller.stop()

  t.same(answers.map((a) => a.status), bodies.map(() => 200), 'every report answered 200 in the end')
  const ids = answers.map((a) => a.id ?? '?')
  t.equal(new Set(ids).size, 20, '20 distinct intakes')
  const keys = gatewayKeys(prefix)
  for (const id of ids) {
    t.equal(await redis.exists(keys.sealed(id)), 1, `${id} sealed`)
    t.ok(await queue.getJob(id), `${id} queued`)
  }
  t.equal(cg.oomKills(), 0, 'the kernel killed nothing')
  t.equal(web.child.exitCode, null, 'the web role is still running')

  const ms = health.map((h) => h.ms)
  const p99 = percentile(ms, 0.99)
  t.ok(health.length > 20, `/healthz polled throughout (${health.length} times)`)
  t.ok(health.every((h) => h.status === 200), '/healthz answered 200 every time')
  t.ok(p99 < 1000, `/healthz p99 ${p99.toFixed(0)} ms < 1000 ms`)
  const mib = (n: number) => (n / 1048576).toFixed(0)
  t.comment(`web role memory (cgroup max usage): start ${mib(baseline)} MiB, after 39 MB unauthenticated ${mib(unauthPeak)} MiB, after 20x25 MB ${mib(cg.maxUsage())} MiB of ${mib(LIMIT)} MiB`)
  t.comment(`20x25 MB: ${seconds.toFixed(1)} s, ${shed.count} answers 503 (retried); /healthz p50 ${percentile(ms, 0.5).toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${Math.max(...ms).toFixed(0)} ms`)
})
