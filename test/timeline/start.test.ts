// Scheduling: the first reminder's delay follows REMINDER_DELAYS, or REMINDER_DELAYS_URGENT
// for publicly disclosed reports; job data hold ids only; webhooks find the intake by GHSA.
import t from 'tap'
import { Redis } from 'ioredis'
import { Queue } from 'bullmq'
import { startTimeline } from '../../src/timeline/timeline.js'
import { TIMELINE_QUEUE, gatewayKeys } from '../../src/queue/jobs.js'
import { testConfig } from '../helpers/config.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'

t.test('urgent reports use the short intervals', async (t) => {
  const prefix = uniquePrefix('timeline')
  const redis = new Redis(REDIS_URL)
  const queue = new Queue(TIMELINE_QUEUE, { connection: redis, prefix })
  t.teardown(async () => { await queue.close(); redis.disconnect(); await dropPrefix(prefix) })
  const { timeline } = testConfig({})
  t.same(timeline.delaysMs, [24 * 3600_000, 7 * 24 * 3600_000, 21 * 24 * 3600_000], 'SECURITY.md defaults: 24 h, 7 d, 21 d')
  t.equal(timeline.retrospectiveMs, 2 * 24 * 3600_000, 'retrospective 2 days after release (1-3)')
  const deps = { redis, prefix, queue, timeline, retry: { jobAttempts: 3, jobBackoffMs: 10 } }
  await startTimeline(deps, { intakeId: 'normal1', owner: 'acme', repo: 'widget', ghsaId: 'GHSA-2345-6789-cfgh', urgent: false })
  await startTimeline(deps, { intakeId: 'urgent1', owner: 'acme', repo: 'widget', ghsaId: 'GHSA-2345-6789-cfgj', urgent: true })
  t.equal((await queue.getJob('remind-normal1-0'))?.opts.delay, 24 * 3600_000)
  const urgent = await queue.getJob('remind-urgent1-0')
  t.equal(urgent?.opts.delay, timeline.urgentDelaysMs[0])
  t.ok((timeline.urgentDelaysMs[0] as number) < (timeline.delaysMs[0] as number))
  t.same(Object.keys(urgent?.data ?? {}).sort(), ['ghsaId', 'intakeId', 'owner', 'repo', 'step', 'urgent'], 'ids only')
  t.same(JSON.parse(String(await redis.get(gatewayKeys(prefix).advisory('GHSA-2345-6789-cfgj')))), { intakeId: 'urgent1', owner: 'acme', repo: 'widget' })
  await startTimeline(deps, { intakeId: 'normal1', owner: 'acme', repo: 'widget', ghsaId: 'GHSA-2345-6789-cfgh', urgent: false })
  t.equal((await queue.getJobs(['delayed'])).length, 2, 'a retry schedules nothing twice (deterministic job ids)')
})

t.test('durations and their validation', async (t) => {
  t.same(testConfig({ REMINDER_DELAYS: '500ms,1s,2m' }).timeline.delaysMs, [500, 1000, 120_000])
  t.throws(() => testConfig({ REMINDER_DELAYS: '24h,7d' }), /REMINDER_DELAYS must be 3 comma-separated durations/)
  t.throws(() => testConfig({ RETROSPECTIVE_DELAY: 'soon' }), /RETROSPECTIVE_DELAY must be a duration/)
  t.throws(() => testConfig({ DKIM_SELECTOR: 'x' }), /DKIM_PRIVATE_KEY and DKIM_SELECTOR must be set together/)
})
