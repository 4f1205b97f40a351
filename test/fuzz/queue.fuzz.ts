// A sample of the fuzz inputs (hostile MIME and mutated OpenPGP) through the whole
// gateway: the raw endpoint, the seal, the queue, the worker. Each message ends refused
// at the door with a reason (4xx), filed, or quarantined with a reason code the worker
// knows; none ends as a generic "failed" (an exception retried to exhaustion); the worker
// survives and everything finishes.
import t from 'tap'
import fc from 'fast-check'
import { startGateway } from '../helpers/gateway.js'
import { SCALE, SEED, messageShape, mutate, pgpMutation, render, tree, type PgpBase, type PgpMutation } from '../helpers/fuzz.js'
import { pgpBases, wrapPgp } from '../helpers/fuzz-pgp.js'
import { teamKey } from '../helpers/team-key.js'

const MIME = 500
const PGP = 500
// ReportError codes, plus the intake filters' own (automated mail, spam, DMARC, per-sender rate, virus).
const KNOWN = new Set(['undecryptable', 'unauthenticated', 'tampered', 'too-large', 'unparsable', 'not-a-message', 'automated', 'spam', 'dmarc-fail', 'sender-rate', 'virus'])

t.test('fuzz inputs through the queue: refused, filed or quarantined with a reason', async (t) => {
  const team = await teamKey()
  const gw = await startGateway(t, { PGP_PRIVATE_KEY: team.armoredSecret, JOB_ATTEMPTS: '2', WORKER_CONCURRENCY: '4' })
  const pool = await pgpBases(t)
  const weighted = pool.flatMap((b, i) => Array.from({ length: b.weight }, () => i))
  const inputs: Buffer[] = [
    // A From of its own for each (the door refuses messages without one, and the
    // per-sender rate limit would quarantine most of one sender's 1,000: the in-process
    // suites fuzz From and truncation).
    ...fc.sample(messageShape(tree), { numRuns: MIME * SCALE, seed: SEED + 1 }).map((shape, i) => render({ ...shape, from: `Reporter ${i} <m${i}@example.net>`, truncateAt: undefined })),
    ...fc.sample(pgpMutation(weighted.length), { numRuns: PGP * SCALE, seed: SEED + 2 }).map((m: PgpMutation, i) => {
      const base = pool[weighted[m.base] as number] as PgpBase
      return wrapPgp(mutate(base.binary, m).bytes, m.wrapper, m.op === 'armor-damage', `Reporter ${i} <p${i}@example.net>`)
    })
  ]
  const ids = new Set<string>()
  const refused = new Map<number, number>()
  for (const raw of inputs) {
    // 503 is back-pressure (Redis or an overloaded event loop): a provider retries later.
    let res = await gw.post(raw)
    for (let tries = 0; res.status === 503 && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      res = await gw.post(raw)
    }
    if (res.id !== undefined) ids.add(res.id)
    else refused.set(res.status, (refused.get(res.status) ?? 0) + 1)
  }
  for (const status of refused.keys()) t.ok(status >= 400 && status < 500 && status !== 401, `refused at the door with ${status} (${refused.get(status)})`)

  await gw.waitFor(async () => {
    const c = await gw.queue.getJobCounts('completed', 'failed')
    return (c.completed ?? 0) + (c.failed ?? 0) >= ids.size
  }, 'every job finished', 600_000)

  const quarantine = new Map(Object.entries(await gw.redis.hgetall(`${gw.prefix}:gw:quarantine`)).map(([id, v]) => [id, JSON.parse(v) as { code: string, reason: string }]))
  const filed = new Set(gw.outbox('advisories').map((f) => f.replace(/\.json$/, '')))
  const codes = new Map<string, number>()
  for (const id of ids) {
    const q = quarantine.get(id)
    if (filed.has(id)) continue
    if (q === undefined) { t.fail(`intake ${id}: neither filed nor quarantined`); continue }
    codes.set(q.code, (codes.get(q.code) ?? 0) + 1)
    if (!KNOWN.has(q.code) || q.reason.trim() === '') t.fail(`intake ${id}: quarantined as ${q.code} (${q.reason})`)
  }
  t.pass(`${inputs.length} inputs: ${[...refused.values()].reduce((a, b) => a + b, 0)} refused at the door, ${filed.size} filed, quarantined: ${[...codes].map(([k, v]) => `${k} ${v}`).join(', ')}`)
  t.equal(filed.size + [...codes.values()].reduce((a, b) => a + b, 0), ids.size, 'every accepted message has exactly one outcome')
  t.ok(gw.logs.every((l) => !l.includes('"level":60')), 'no fatal log line')
})
