// End to end with a clear-text report: webhook -> queue -> worker -> advisory + ack.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { simpleParser } from 'mailparser'
import { startGateway } from '../helpers/gateway.js'
import { startGithubStub } from '../helpers/github-stub.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'
import { plainMessage } from '../helpers/messages.js'
import { REDIS_URL, dumpValues } from '../helpers/redis.js'
import { testConfig } from '../helpers/config.js'
import { quarantineCommand } from '../../src/cli/quarantine.js'
import { exportSealed } from '../../src/cli/export.js'

t.test('embedded defaults: the report lands in outbox/ as the exact advisory body and an .eml', async (t) => {
  const gw = await startGateway(t, {})
  const canary = 'CANARY-' + Math.random().toString(36).slice(2)
  const original = plainMessage({ messageId: 'outbox-1@example.org', body: `The loader reads ../ paths. ${canary}` })
  const res = await gw.post(original)
  t.equal(res.status, 200)
  const file = join(gw.dir, 'outbox', 'advisories', `${res.id}.json`)
  const body = await gw.waitFor(() => { try { return JSON.parse(readFileSync(file, 'utf8')) } catch { return undefined } }, 'outbox advisory')
  t.equal(body.summary, 'Vulnerability in toolhive')
  t.match(body.description, canary)
  t.same(body.vulnerabilities, [{ package: { ecosystem: 'other', name: null } }])
  const mails = await gw.waitFor(() => { const f = gw.outbox('mail'); return f.length > 0 ? f : undefined }, 'outbox mail')
  t.equal(mails.length, 1)
  const ack = await simpleParser(readFileSync(join(gw.dir, 'outbox', 'mail', mails[0] as string)))
  t.equal(ack.inReplyTo, '<outbox-1@example.org>')
  t.equal(ack.headers.get('auto-submitted'), 'auto-replied')
  t.match(ack.text ?? '', `LOCAL-${res.id}`)

  // The original stays sealed for SEALED_TTL_DAYS; the team can export it (attachments).
  const exported = join(gw.dir, 'exported.eml')
  t.equal(await exportSealed(gw.config(), gw.redis, res.id as string, exported, () => {}), 0)
  t.same(readFileSync(exported), original, 'export gives back the exact bytes received')
  const ttl = await gw.redis.ttl(`${gw.prefix}:gw:sealed:${res.id}`)
  t.ok(ttl > 89 * 24 * 3600, 'kept for SEALED_TTL_DAYS (90 by default)')
})

t.test('GitHub + SMTP: exactly one schema-valid advisory and one threaded acknowledgement; the canary stays out of Redis and logs', async (t) => {
  const stub = await startGithubStub({ repos: ['StacklokLabs/security-reports'], token: 'ghp_test' })
  const smtp = await startSmtpSink()
  t.teardown(async () => { await stub.close(); await smtp.close() })
  const gw = await startGateway(t, {
    GITHUB_API_URL: stub.url, GITHUB_TOKEN: 'ghp_test', GITHUB_OWNER: 'StacklokLabs', GITHUB_DEFAULT_REPO: 'security-reports',
    SMTP_URL: smtp.url, TEAM_NOTIFY_EMAIL: 'team@stacklok.com'
  })
  const canary = 'CANARY-' + Math.random().toString(36).slice(2)
  const raw = plainMessage({ messageId: 'gh-1@example.org', subject: 'RCE in fetch', body: `Steps: ${canary}` })
  const res = await gw.post(raw)
  t.equal(res.status, 200)
  t.equal((await gw.post(raw)).id, res.id, 'redelivery, same id')
  await gw.waitFor(() => smtp.messages.length >= 2, 'ack + team notice')
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 1, 'job completed')

  const creates = stub.requests.filter((r) => r.method === 'POST')
  t.equal(creates.length, 1, 'exactly one advisory request')
  t.equal(stub.invalidRequests.length, 0, 'every request valid against GitHub\'s schema')
  t.equal(stub.advisories.length, 1)
  const advisory = stub.advisories[0]!
  t.match(advisory.description, canary)

  const ack = smtp.messages.find((m) => m.envelope.rcptTo.some((r) => r.address === 'reporter@example.org'))
  t.ok(ack, 'acknowledgement sent to the reporter')
  const parsed = await simpleParser(ack!.raw)
  t.equal(parsed.inReplyTo, '<gh-1@example.org>')
  t.match(String(parsed.references), 'gh-1@example.org')
  t.equal(parsed.headers.get('auto-submitted'), 'auto-replied')
  t.match(parsed.text ?? '', advisory.ghsa_id)
  t.notMatch(parsed.text ?? '', canary, 'the ack does not quote the report')

  const notice = smtp.messages.find((m) => m.envelope.rcptTo.some((r) => r.address === 'team@stacklok.com'))
  t.ok(notice, 'team told')
  t.equal(notice!.raw.indexOf(canary), -1, 'team notice has no report content')

  const redisBytes = Buffer.concat(await gw.redis.keys(`${gw.prefix}:*`).then(() => dumpValues(gw.redis, gw.prefix)))
  t.equal(redisBytes.indexOf(canary), -1, 'canary nowhere in Redis')
  t.equal(gw.logs.join('').indexOf(canary), -1, 'canary nowhere in the logs')
  t.ok(gw.logs.some((l) => l.includes('"msg":"report outcome"') && l.includes('"signature":')), 'one outcome line per report')
})

t.test('RFC 3834: an auto-submitted report still becomes an advisory but gets no reply', async (t) => {
  const gw = await startGateway(t, {})
  // auto-generated (a platform's notice can carry a report); auto-replied is machinery, quarantined (test/e2e/bounces.test.ts).
  const res = await gw.post(plainMessage({ messageId: 'auto@example.org', headers: { 'Auto-Submitted': 'auto-generated' } }))
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 1, 'job completed')
  t.same(gw.outbox('advisories'), [`${res.id}.json`])
  t.same(gw.outbox('mail'), [], 'no acknowledgement')
  t.ok(gw.logs.some((l) => l.includes('reply suppressed')))
})

t.test('GitHub refuses the advisory (422): the report is quarantined; the error holds no report text', async (t) => {
  const stub = await startGithubStub({ repos: ['StacklokLabs/security-reports'], token: 'ghp_test' })
  t.teardown(stub.close)
  const gw = await startGateway(t, { GITHUB_API_URL: stub.url, GITHUB_TOKEN: 'ghp_test', GITHUB_OWNER: 'StacklokLabs', GITHUB_DEFAULT_REPO: 'security-reports', TEAM_NOTIFY_EMAIL: 'team@stacklok.com' })
  const canary = 'CANARY-' + Math.random().toString(36).slice(2)
  stub.failNext(422, 1, {}, { method: 'POST' })
  const res = await gw.post(plainMessage({ messageId: 'refused@example.org', subject: `about ${canary}`, body: canary }))
  const job = await gw.waitFor(async () => { const j = await gw.queue.getJob(res.id as string); return j?.failedReason ? j : undefined }, 'job failed')
  t.match(job.failedReason, /422/)
  t.equal(job.attemptsMade, 1, 'permanent: not retried')
  await gw.waitFor(async () => (await gw.redis.hget(`${gw.prefix}:gw:quarantine`, res.id as string)) !== null, 'quarantined')
  t.equal(Buffer.concat(await dumpValues(gw.redis, gw.prefix)).indexOf(canary), -1, 'no report text in Redis (failedReason, stacktrace, quarantine)')
  t.equal(gw.logs.join('').indexOf(canary), -1, 'nor in logs')
  const notice = await gw.waitFor(() => gw.outbox('mail').find((f) => f.startsWith('notify-quarantined.')), 'team notice')
  t.match(readFileSync(join(gw.dir, 'outbox', 'mail', notice), 'utf8'), /quarantin/i, 'the team is told it was quarantined')
})

t.test('bounces and our own automated mail are kept in quarantine, not filed; a replay files them', async (t) => {
  const gw = await startGateway(t, {})
  const bounce = Buffer.from([
    'From: Mail Delivery System <MAILER-DAEMON@mx.example.org>', 'To: security@stacklok.com', 'Subject: Undelivered Mail Returned to Sender',
    'Message-ID: <bounce-1@mx.example.org>', 'MIME-Version: 1.0', 'Content-Type: multipart/report; report-type=delivery-status; boundary="b"', '',
    '--b', 'Content-Type: text/plain', '', 'delivery failed', '--b', 'Content-Type: message/delivery-status', '', 'Reporting-MTA: dns; mx.example.org', '', 'Final-Recipient: rfc822; ada@example.net', 'Action: failed', 'Status: 5.1.1', '--b--', ''
  ].join('\r\n'))
  const loop = plainMessage({ from: 'security@stacklok.com', messageId: 'notify.x@stacklok.com', headers: { 'Auto-Submitted': 'auto-generated' }, subject: '[security intake] New report' })
  const a = await gw.post(bounce)
  const b = await gw.post(loop)
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 2, 'both processed')
  t.same(gw.outbox('advisories'), [], 'no advisory')
  t.same(gw.outbox('mail'), [], 'no reply')
  const config = testConfig({ REDIS_URL, QUEUE_PREFIX: gw.prefix, SEAL_PRIVATE_KEY: 'unused' })
  let out = ''
  await quarantineCommand(config, ['list'], (s) => { out += s })
  t.match(out, a.id as string)
  t.match(out, b.id as string)
  t.match(out, 'automated')
  await quarantineCommand(config, ['replay', a.id as string], () => {})
  await gw.waitFor(() => gw.outbox('advisories').includes(`${a.id}.json`), 'replayed bounce filed on request')
})

t.test('a reply to our acknowledgement joins the first advisory and is never auto-answered (no loop with a careless responder)', async (t) => {
  const gw = await startGateway(t, {})
  const first = await gw.post(plainMessage({ messageId: 'loop-0@example.org' }))
  await gw.waitFor(() => gw.outbox('mail').length === 1, 'first acknowledgement')
  // A vacation responder that ignores Auto-Submitted answers our acknowledgement.
  const answer = plainMessage({ messageId: 'loop-1@example.org', subject: 'Out of office', headers: { 'In-Reply-To': `<ack.${first.id}@stacklok.com>` } })
  const second = await gw.post(answer)
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 2, 'processed')
  t.same(gw.outbox('advisories'), [`${first.id}.json`], 'no second advisory: the reply is a follow-up')
  const advisory = JSON.parse(readFileSync(join(gw.dir, 'outbox', 'advisories', `${first.id}.json`), 'utf8')) as { description: string }
  t.match(advisory.description, `<!-- follow-up-intake-id: ${second.id} -->`, 'appended to the first advisory')
  t.equal(gw.outbox('mail').length, 1, 'no second acknowledgement')
})
