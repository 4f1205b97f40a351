// Metrics after real traffic: names and labels an operator's dashboards depend on, and
// no report content in any series.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { readKey } from 'openpgp'
import { startGateway } from '../helpers/gateway.js'
import { startGithubStub } from '../helpers/github-stub.js'
import { plainMessage } from '../helpers/messages.js'
import { sampleReport } from '../../src/cli/send-test.js'
import { providerOfRoute, reasonLabel } from '../../src/ops/metrics.js'

const ADMIN = 'ops:metrics-password-123'
const auth = 'Basic ' + Buffer.from(ADMIN).toString('base64')

function sample (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1))
  }
  return undefined
}

t.test('provider label from the route template, bounded reason labels', async (t) => {
  t.equal(providerOfRoute('/inbound/raw'), 'raw')
  t.equal(providerOfRoute('/inbound/mailgun/mime'), 'mailgun')
  t.equal(providerOfRoute('/inbound/ses'), 'ses')
  t.equal(providerOfRoute('/healthz'), undefined)
  t.equal(providerOfRoute(undefined), undefined)
  t.equal(reasonLabel(' refused by the mail server (550)'), 'refused-by-the-mail-server')
  t.equal(reasonLabel('auto-submitted'), 'auto-submitted')
  t.equal(reasonLabel('(((('), 'other')
})

t.test('after processed reports: every series an operator needs, and no report text', async (t) => {
  const stub = await startGithubStub({ repos: ['acme/widget'], token: 'gh-token' })
  t.teardown(stub.close)
  const gw = await startGateway(t, { ADMIN_BASIC_AUTH: ADMIN, GITHUB_TOKEN: 'gh-token', GITHUB_API_URL: stub.url, GITHUB_OWNER: 'acme', GITHUB_DEFAULT_REPO: 'widget' })
  const canary = 'CANARY-' + Math.random().toString(36).slice(2)

  // 1. a clear-text report (filed, acknowledged) and its redelivery
  const plain = plainMessage({ messageId: 'm1@example.org', subject: `Bug ${canary}`, body: `Details ${canary}` })
  const first = await gw.post(plain)
  t.equal(first.status, 200)
  t.equal((await gw.post(plain)).status, 200, 'redelivery')
  // 2. an encrypted report to the team key (decrypted)
  await gw.waitFor(() => { try { return readFileSync(join(gw.config().keysDir, 'dev-team-key.pub.asc')) } catch { return undefined } }, 'dev key')
  const key = await readKey({ armoredKey: readFileSync(join(gw.config().keysDir, 'dev-team-key.pub.asc'), 'utf8') })
  t.equal((await gw.post(await sampleReport(key, { from: 'enc@example.org', to: 'security@stacklok.com' }))).status, 200)
  // 3. auto-submitted mail: filed, reply suppressed
  t.equal((await gw.post(plainMessage({ messageId: 'm3@example.org', headers: { 'Auto-Submitted': 'auto-generated' } }))).status, 200)
  // 4. our own automatic mail coming back: quarantined, reason "automated"
  t.equal((await gw.post(plainMessage({ messageId: 'm4@example.org', from: 'security@stacklok.com', headers: { 'Auto-Submitted': 'auto-replied' } }))).status, 200)
  // 5. a bad signature
  const bad = await gw.web.fastify.inject({ method: 'POST', url: '/inbound/raw', headers: { 'content-type': 'message/rfc822', 'x-intake-timestamp': String(Math.floor(Date.now() / 1000)), 'x-intake-signature': 'v1=' + '0'.repeat(64) }, payload: plain })
  t.equal(bad.statusCode, 401)

  await gw.waitFor(async () => (await gw.queue.getJobCounts('completed')).completed === 4, 'four jobs done')

  t.equal((await gw.web.fastify.inject({ url: '/metrics' })).statusCode, 401, 'no credentials: refused')
  t.equal((await gw.web.fastify.inject({ url: '/metrics', headers: { authorization: 'Basic ' + Buffer.from('ops:wrong').toString('base64') } })).statusCode, 401, 'wrong password: refused')
  const res = await gw.web.fastify.inject({ url: '/metrics', headers: { authorization: auth } })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/plain/)
  const m = res.body

  t.equal(sample(m, 'intake_inbound_requests_total', { provider: 'raw', status: '200' }), 5)
  t.equal(sample(m, 'intake_inbound_requests_total', { provider: 'raw', status: '401' }), 1)
  t.equal(sample(m, 'intake_messages_queued_total', { source: 'raw' }), 4)
  t.equal(sample(m, 'intake_messages_redelivered_total', { source: 'raw' }), 1)
  t.equal(sample(m, 'intake_reports_processed_total', { outcome: 'advisory' }), 3)
  t.equal(sample(m, 'intake_reports_processed_total', { outcome: 'quarantined' }), 1)
  t.equal(sample(m, 'intake_messages_decrypted_total'), 1)
  t.equal(sample(m, 'intake_messages_quarantined_total', { reason: 'automated' }), 1)
  t.equal(sample(m, 'intake_advisories_total', { action: 'created' }), 3)
  t.equal(sample(m, 'intake_replies_total', { kind: 'ack', result: 'sent' }), 2)
  t.equal(sample(m, 'intake_replies_total', { kind: 'ack', result: 'suppressed', reason: 'auto-submitted' }), 1)
  t.equal(sample(m, 'intake_github_requests_total', { method: 'POST', route: '/repos/{owner}/{repo}/security-advisories', status: '201' }), 3)
  t.equal(sample(m, 'intake_job_duration_seconds_count', { queue: 'reports', outcome: 'advisory' }), 3)
  t.equal(sample(m, 'intake_queue_jobs', { queue: 'reports', state: 'completed' }), 4)
  t.equal(sample(m, 'intake_queue_jobs', { queue: 'reports', state: 'waiting' }), 0)
  t.equal(sample(m, 'intake_queue_oldest_waiting_age_seconds', { queue: 'reports' }), 0)
  t.ok(m.includes('intake_github_rate_limit_waits_total'), 'rate-limit series declared')
  t.ok(m.includes('intake_process_cpu_user_seconds_total'), 'process metrics')
  t.notOk(m.includes(canary), 'no report text in metrics')
  t.notOk(gw.logs.join('').includes(canary), 'no report text in logs')

  // One log line per processed report, with its outcome.
  const outcomes = gw.logs.map((l) => JSON.parse(l) as { msg: string, outcome?: string, intakeId?: string }).filter((l) => l.msg === 'report outcome')
  t.equal(outcomes.length, 4)
  t.same(outcomes.map((o) => o.outcome).sort(), ['advisory', 'advisory', 'advisory', 'quarantined'])
  t.ok(outcomes.some((o) => o.intakeId === first.id))
})

t.test('queue depth and age of waiting jobs', async (t) => {
  const gw = await startGateway(t, { ADMIN_BASIC_AUTH: ADMIN })
  await gw.worker().worker.pause()
  t.equal((await gw.post(plainMessage({ messageId: 'wait1@example.org' }))).status, 200)
  t.equal((await gw.post(plainMessage({ messageId: 'wait2@example.org' }))).status, 200)
  // Backdate the oldest job so its age is known without waiting.
  const [oldest] = await gw.queue.getJobs(['wait'], 0, 0, true)
  t.ok(oldest)
  await gw.redis.hset(`${gw.prefix}:reports:${oldest?.id}`, 'timestamp', String(Date.now() - 120_000))
  const m = (await gw.web.fastify.inject({ url: '/metrics', headers: { authorization: auth } })).body
  t.equal(sample(m, 'intake_queue_jobs', { queue: 'reports', state: 'waiting' }), 2)
  const age = sample(m, 'intake_queue_oldest_waiting_age_seconds', { queue: 'reports' }) ?? 0
  t.ok(age >= 120 && age < 3600, `oldest waiting job is about two minutes old (${age})`)
  gw.worker().worker.resume()
})
