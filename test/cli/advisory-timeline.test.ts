// Issue 9, point 7: `intake advisory timeline <GHSA>` prints every recorded step of a
// report with its time. The record is written once per step (a retry or replay keeps the
// first time) and holds ids, counts and outcomes, never report text.
import t from 'tap'
import { Redis } from 'ioredis'
import { fire, report, world } from '../helpers/advisory-world.js'
import { REDIS_URL, dropPrefix, dumpValues, uniquePrefix } from '../helpers/redis.js'
import { advisoryCommand } from '../../src/cli/advisory.js'
import { formatTimeline, reportEvents } from '../../src/store/events.js'
import { gatewayKeys } from '../../src/queue/jobs.js'

async function capture (fn: (out: (s: string) => void) => Promise<number>): Promise<{ code: number, text: string }> {
  let text = ''
  const code = await fn((s) => { text += s })
  return { code, text }
}

t.test('a report\'s steps, in order and with their times, from intake to publication', async (t) => {
  const w = await world(t)
  const secret = `CANARY-${Math.random().toString(36).slice(2)}`
  const before = new Date().toISOString()
  const { intakeId, ghsaId } = await report(w, secret)
  await w.gw.waitFor(async () => await w.gw.redis.hget(gatewayKeys(w.gw.prefix).state(intakeId), 'outcome'), 'report processed')

  const json = JSON.parse((await capture(async (out) => await advisoryCommand(w.gw.config(), ['timeline', ghsaId, '--json'], out))).text)
  t.equal(json.intakeId, intakeId)
  t.equal(json.repository, 'acme/security-reports')
  const kinds = json.events.map((e: { kind: string }) => e.kind)
  t.same(kinds, ['received', 'decrypted', 'advisory-created', 'acknowledged', 'team-notified'], 'each step of intake, in order')
  for (const e of json.events) t.ok(e.at >= before.slice(0, 19) && !Number.isNaN(Date.parse(e.at)), `${e.kind} has its time`)
  t.match(json.events[1].detail, /^encrypted, signature /)
  t.equal(json.events[2].detail, `${ghsaId} in acme/security-reports`)
  t.equal(json.events[3].detail, 'sent')

  // Publication (seen by the poll) joins the record at GitHub's published_at.
  w.stub.changeAdvisory(ghsaId, { state: 'published', cve_id: 'CVE-2026-40001' })
  t.equal(await fire(w, `remind-${intakeId}-0`), 'published')
  const human = await capture(async (out) => await advisoryCommand(w.gw.config(), ['timeline', ghsaId.toLowerCase()], out))
  t.equal(human.code, 0, 'a lower-case GHSA id is accepted')
  t.match(human.text, `${ghsaId}  acme/security-reports  (report ${intakeId})`)
  t.match(human.text, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ {2}report received {2}\(via raw\)/)
  t.match(human.text, /draft advisory created/)
  t.match(human.text, /advisory published {2}\(CVE-2026-40001\)/)
  t.equal(human.text.indexOf(secret), -1, 'no report text in the timeline')
  t.equal(Buffer.concat(await dumpValues(w.gw.redis, w.gw.prefix)).indexOf(secret), -1, 'none in Redis')
  t.equal(Buffer.concat(await dumpValues(w.gw.redis, w.gw.prefix)).indexOf('rita@example.net'), -1, 'nor the reporter\'s address')
})

t.test('unknown and malformed GHSA ids are refused clearly', async (t) => {
  const w = await world(t)
  const usage = await capture(async (out) => await advisoryCommand(w.gw.config(), ['timeline'], out))
  t.equal(usage.code, 2)
  t.match(usage.text, 'advisory timeline <GHSA>')
  const bad = await capture(async (out) => await advisoryCommand(w.gw.config(), ['timeline', 'GHSA-1111-2222-3333'], out))
  t.equal(bad.code, 2, 'digits 0 and 1 are not in GHSA\'s alphabet')
  t.match(bad.text, 'not a GHSA id')
  const unknown = await capture(async (out) => await advisoryCommand(w.gw.config(), ['timeline', 'GHSA-2222-3333-4444'], out))
  t.equal(unknown.code, 1)
  t.match(unknown.text, 'GHSA-2222-3333-4444 is not an advisory this gateway filed')
})

t.test('the record keeps the first time of a step; repeated events are kept apart by key', async (t) => {
  const prefix = uniquePrefix('events')
  const redis = new Redis(REDIS_URL)
  t.teardown(async () => { redis.disconnect(); await dropPrefix(prefix) })
  const events = reportEvents(redis, prefix)
  t.equal(await events.record('r1', 'received', { at: '2026-11-02T10:00:00Z', detail: 'via raw' }), true)
  t.equal(await events.record('r1', 'received', { at: '2026-11-02T11:00:00Z', detail: 'via raw (replay)' }), false, 'a retry records nothing new')
  await events.record('r1', 'distributor-notice', { at: '2026-11-03T09:00:00Z', key: 'a1', detail: 'Distro A' })
  await events.record('r1', 'distributor-notice', { at: '2026-11-03T09:00:01Z', key: 'b2', detail: 'Distro B\r\nInjected: header' })
  await events.replace('r1', 'release-scheduled', { at: '2026-11-03T08:00:00Z', detail: '2026-11-10T16:00:00Z' })
  await events.replace('r1', 'release-scheduled', { at: '2026-11-03T08:30:00Z', detail: '2026-11-11T16:00:00Z' })
  const list = await events.list('r1')
  t.same(list.map((e) => [e.kind, e.at, e.detail]), [
    ['received', '2026-11-02T10:00:00.000Z', 'via raw'],
    ['release-scheduled', '2026-11-03T08:30:00.000Z', '2026-11-11T16:00:00Z'],
    ['distributor-notice', '2026-11-03T09:00:00.000Z', 'Distro A'],
    ['distributor-notice', '2026-11-03T09:00:01.000Z', 'Distro B Injected: header']
  ], 'sorted by time, control characters flattened, a moved release day replaced')
  t.same(formatTimeline(list.slice(0, 1)), ['2026-11-02 10:00:00Z  report received  (via raw)'])
  await events.record('r2', 'published', { at: '2026-11-02T10:00:00Z', detail: 'GitHub: whole seconds' })
  await events.record('r2', 'received', { at: '2026-11-02T10:00:00.640Z' })
  t.same((await events.list('r2')).map((e) => e.kind), ['received', 'published'], 'in one second, SECURITY.md\'s order: GitHub\'s times have no milliseconds')
  t.same(formatTimeline([{ kind: 'announced', at: '2026-11-20T16:05:00.000Z', detail: 'not posted: DISCORD_WEBHOOK_URL is not set' }, { kind: 'announced', at: '2026-11-20T16:05:00.000Z', detail: 'posted to Discord' }]), [
    '2026-11-20 16:05:00Z  release announcement NOT posted  (not posted: DISCORD_WEBHOOK_URL is not set)',
    '2026-11-20 16:05:00Z  release announced  (posted to Discord)'
  ], 'an announcement that did not go out does not read as done')
  t.ok(await redis.ttl(gatewayKeys(prefix).events('r1')) > 0, 'the record expires with the report\'s state')
})
