// Issue 6, point 6: SECURITY.md reminders as delayed BullMQ jobs. The clock is the
// queue's: every delay is an hour, and the test promotes the delayed job it wants to run
// next (what time would do), so nothing depends on how fast the machine is. The GitHub
// stub validates every request and plays the maintainer (collaborators, publishing).
import t from 'tap'
import { openMail } from '../helpers/pgp-mail.js'
import { dumpValues } from '../helpers/redis.js'
import { fire, mailsTo, report, teamSubjects, world } from '../helpers/advisory-world.js'
import { gatewayKeys } from '../../src/queue/jobs.js'
import { sign } from '@octokit/webhooks-methods'
import { createHmac } from 'node:crypto'

const WEBHOOK_SECRET = 'whsec-test-0123456789abcdef'

t.test('reminders fire while the advisory is a draft, stop once it is published; the reporter gets an encrypted published notice; the retrospective follows', async (t) => {
  const w = await world(t)
  const secret = `CANARY-${Math.random().toString(36).slice(2)}`
  const { intakeId, ghsaId } = await report(w, secret)

  const first = await w.gw.waitFor(async () => await w.timeline.getJob(`remind-${intakeId}-0`), "first reminder job")
  // Review of issue 6: the GHSA mapping must expire before the progress hash, or a late
  // webhook finds the advisory but not its progress and publishes (retrospective) again.
  const keys = gatewayKeys(w.gw.prefix)
  t.ok(await w.gw.redis.ttl(keys.advisory(ghsaId)) <= await w.gw.redis.ttl(keys.state(intakeId)), 'the mapping does not outlive the progress')
  t.equal(first?.opts.delay, 3_600_000, 'first reminder delayed by REMINDER_DELAYS[0]')

  t.equal(await fire(w, `remind-${intakeId}-0`), 'reminded', '24 h: no collaborators yet')
  t.equal((await w.timeline.getJob(`remind-${intakeId}-1`))?.opts.delay, 3_600_000, 'next step after the gap to 2h')
  t.equal(await fire(w, `remind-${intakeId}-1`), 'reminded', '7 d: still a draft')
  const reminders = (await teamSubjects(w)).filter((s) => /Reminder/.test(s))
  t.equal(reminders.length, 2)
  t.match(reminders[0], /Fix Team/)
  t.match(reminders[1], /develop the fix/)
  t.equal(w.chat.posts.filter((p) => /Reminder/.test(p.text ?? '')).length, 2, 'and in chat')

  // A maintainer publishes the advisory with a CVE.
  w.stub.changeAdvisory(ghsaId, { state: 'published', cve_id: 'CVE-2026-41234' })
  t.equal(await fire(w, `remind-${intakeId}-2`), 'published', 'the poll sees the publication')
  t.equal((await teamSubjects(w)).filter((s) => /Reminder/.test(s)).length, 2, 'no reminder once published')
  t.equal(await w.timeline.getJob(`remind-${intakeId}-3`), undefined, 'the chain ends')

  await w.gw.waitFor(() => mailsTo(w, 'rita@example.net').length === 2, 'published notice')
  const notice = await openMail(w.gpg, mailsTo(w, 'rita@example.net')[1]!.raw)
  t.equal(notice.kind, 'encrypted', 'the published notice is encrypted to the reporter')
  t.same(notice.validSigners, [w.team.fingerprint], 'and signed by the team')
  t.match(notice.text, ghsaId)
  t.match(notice.text, 'CVE-2026-41234')
  t.match(notice.text, `https://github.com/acme/security-reports/security/advisories/${ghsaId}`)
  t.equal(notice.headers.get('in-reply-to'), '<rita-1@example.net>', 'threaded to the report')
  t.match(mailsTo(w, 'rita@example.net')[1]!.raw.toString('latin1'), /^Autocrypt: addr=security@example\.org;/m, 'with the team key in Autocrypt')

  const retro = await w.timeline.getJob(`retro-${intakeId}`)
  t.equal(retro?.opts.delay, 86_400_000, 'retrospective RETROSPECTIVE_DELAY after publication')
  t.equal(await fire(w, `retro-${intakeId}`), 'reminded')
  t.ok((await teamSubjects(w)).some((s) => s.includes(`Retrospective due for ${ghsaId}`)), 'retrospective reminder to the team')
  t.ok(w.chat.posts.some((p) => /Retrospective due/.test(p.text ?? '')))

  t.same(w.stub.invalidRequests, [], 'every GitHub request valid against the schema')
  t.ok(w.stub.requests.some((r) => r.method === 'GET' && r.path === `/repos/acme/security-reports/security-advisories/${ghsaId}`), 'state read through the API')
  for (const m of w.smtp.messages) t.equal(m.raw.indexOf(secret), -1, 'no report text in any mail')
  t.equal(w.chat.raw.join('').indexOf(secret), -1, 'no report text in chat')
  t.equal(Buffer.concat(await dumpValues(w.gw.redis, w.gw.prefix)).indexOf(secret), -1, 'no report text in Redis (job data included)')
})

t.test('the 24-hour check is quiet when the Fix Team exists (collaborators added)', async (t) => {
  const w = await world(t)
  const { intakeId, ghsaId } = await report(w, 'x')
  w.stub.changeAdvisory(ghsaId, { collaborating_users: ['maintainer1'] })
  t.equal(await fire(w, `remind-${intakeId}-0`), 'on track')
  t.equal((await teamSubjects(w)).filter((s) => /Reminder/.test(s)).length, 0)
  t.ok(await w.timeline.getJob(`remind-${intakeId}-1`), 'the 7-day check is still scheduled')
})

t.test('GitHub failing a check: retried, then the chain goes on to its next step', async (t) => {
  const w = await world(t)
  const { intakeId } = await report(w, 'x')
  w.stub.failNext(403, 3, {}, { method: 'GET' }) // every attempt (JOB_ATTEMPTS=3) of this check
  t.equal(await fire(w, `remind-${intakeId}-0`), 'github unavailable')
  t.equal(w.stub.requests.filter((r) => r.method === 'GET' && r.status === 403).length, 3, 'three attempts')
  t.ok(await w.timeline.getJob(`remind-${intakeId}-1`), 'the 7-day check is scheduled all the same')
  t.equal(await fire(w, `remind-${intakeId}-1`), 'reminded', 'and works once GitHub answers')
})

// Review of issue 6: the poll saw the publication, but the notice step failed on every
// attempt (here: another run holds the report's lock; an SMTP outage is the same). The
// job failed and no later check was scheduled, so without a webhook the reporter never
// heard of the publication and the retrospective was never planned.
t.test('a publication whose notice keeps failing does not end the chain: the next check sends it', async (t) => {
  const w = await world(t)
  const { intakeId, ghsaId } = await report(w, 'x')
  w.stub.changeAdvisory(ghsaId, { state: 'published' })
  const lock = gatewayKeys(w.gw.prefix).lock(intakeId)
  await w.gw.redis.set(lock, 'another-run', 'PX', 60_000)
  t.equal(await fire(w, `remind-${intakeId}-0`), 'published; notice pending', 'every attempt found the report busy')
  t.equal(mailsTo(w, 'rita@example.net').length, 1, 'no notice yet')
  await w.gw.redis.del(lock)
  t.equal(await fire(w, `remind-${intakeId}-1`), 'published', 'the next check runs the publication step again')
  await w.gw.waitFor(() => mailsTo(w, 'rita@example.net').length === 2, 'published notice')
  t.ok(await w.timeline.getJob(`retro-${intakeId}`), 'and the retrospective is scheduled')
  t.equal(await w.timeline.getJob(`remind-${intakeId}-2`), undefined, 'then the chain ends')
})

t.test('a closed advisory ends the chain without reminders', async (t) => {
  const w = await world(t)
  const { intakeId, ghsaId } = await report(w, 'x')
  w.stub.changeAdvisory(ghsaId, { state: 'closed' })
  t.equal(await fire(w, `remind-${intakeId}-0`), 'closed')
  t.equal(await w.timeline.getJob(`remind-${intakeId}-1`), undefined)
  t.equal(mailsTo(w, 'rita@example.net').length, 1, 'no published notice for a closed advisory')
})

t.test('POST /github/webhook: verified repository_advisory events publish at once, idempotent with polling', async (t) => {
  const w = await world(t, { GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET })
  const { intakeId, ghsaId } = await report(w, 'x')
  const payload = JSON.stringify({ action: 'published', repository_advisory: { ghsa_id: ghsaId, state: 'published' }, repository: { name: 'security-reports', owner: { login: 'acme' } } })
  const headers = (signature: string, delivery: string) => ({ 'content-type': 'application/json', 'x-github-event': 'repository_advisory', 'x-github-delivery': delivery, 'x-hub-signature-256': signature })

  const forged = await w.gw.inject({ method: 'POST', url: '/github/webhook', headers: headers(await sign('wrong-secret', payload), 'd-0'), payload })
  t.equal(forged.statusCode, 401, 'wrong secret')
  const unsigned = await w.gw.inject({ method: 'POST', url: '/github/webhook', headers: { 'content-type': 'application/json', 'x-github-event': 'repository_advisory' }, payload })
  t.equal(unsigned.statusCode, 401, 'no signature')
  const tampered = await w.gw.inject({ method: 'POST', url: '/github/webhook', headers: headers(await sign(WEBHOOK_SECRET, payload), 'd-0'), payload: payload.replace('published', 'closed') })
  t.equal(tampered.statusCode, 401, 'body changed after signing')
  t.equal(await w.timeline.getJob('gh-d-0'), undefined, 'nothing queued for unverified requests')

  w.stub.changeAdvisory(ghsaId, { state: 'published', cve_id: 'CVE-2026-50000' })
  const ok = await w.gw.inject({ method: 'POST', url: '/github/webhook', headers: headers(await sign(WEBHOOK_SECRET, payload), 'd-1'), payload })
  t.equal(ok.statusCode, 202)
  t.equal(await fire(w, 'gh-d-1'), 'published')
  await w.gw.waitFor(() => mailsTo(w, 'rita@example.net').length === 2, 'published notice')
  t.match((await openMail(w.gpg, mailsTo(w, 'rita@example.net')[1]!.raw)).text, 'CVE-2026-50000')

  // A redelivery, a second event and the poll all arrive after it: nothing more is sent.
  t.equal((await w.gw.inject({ method: 'POST', url: '/github/webhook', headers: headers(await sign(WEBHOOK_SECRET, payload), 'd-1'), payload })).statusCode, 202)
  t.equal((await w.gw.inject({ method: 'POST', url: '/github/webhook', headers: headers(await sign(WEBHOOK_SECRET, payload), 'd-2'), payload })).statusCode, 202)
  t.equal(await fire(w, 'gh-d-2'), 'published')
  t.equal(await fire(w, `remind-${intakeId}-0`), 'published')
  t.equal(mailsTo(w, 'rita@example.net').length, 2, 'one published notice in all')
  t.equal((await w.timeline.getJobs(['delayed'])).filter((j) => j.name === 'retrospective').length, 1, 'one retrospective scheduled')

  const ping = await w.gw.inject({ method: 'POST', url: '/github/webhook', headers: { ...headers(await sign(WEBHOOK_SECRET, '{}'), 'd-3'), 'x-github-event': 'ping' }, payload: '{}' })
  t.equal(ping.statusCode, 200)
  const foreign = JSON.stringify({ action: 'published', repository_advisory: { ghsa_id: 'GHSA-2222-3333-4444' }, repository: { name: 'other', owner: { login: 'acme' } } })
  t.equal((await w.gw.inject({ method: 'POST', url: '/github/webhook', headers: headers(await sign(WEBHOOK_SECRET, foreign), 'd-4'), payload: foreign })).statusCode, 202)
  t.equal(await fire(w, 'gh-d-4'), 'not an advisory of ours')
  t.same(w.stub.invalidRequests, [])
})

// Review of issue 6: the signature was checked over the body decoded as UTF-8, not over
// the bytes received, so bytes that are not UTF-8 were replaced (U+FFFD) before the HMAC:
// a body whose bytes differ from the signed ones verified, and a signed one did not.
t.test('POST /github/webhook: the signature covers the bytes exactly as received', async (t) => {
  const w = await world(t, { GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET })
  const { ghsaId } = await report(w, 'x')
  const headers = (signature: string, delivery: string) => ({ 'content-type': 'application/json', 'x-github-event': 'repository_advisory', 'x-github-delivery': delivery, 'x-hub-signature-256': signature })
  const body = (marker: Buffer) => Buffer.concat([Buffer.from(`{"action":"updated","repository_advisory":{"ghsa_id":"${ghsaId}","summary":"`), marker, Buffer.from('"},"repository":{"name":"security-reports","owner":{"login":"acme"}}}')])
  const replacement = Buffer.from('\uFFFD', 'utf8') // what a lossy decode makes of a stray byte
  const signed = body(replacement)
  const signature = 'sha256=' + createHmac('sha256', WEBHOOK_SECRET).update(signed).digest('hex')
  const altered = await w.gw.inject({ method: 'POST', url: '/github/webhook', headers: headers(signature, 'bytes-1'), payload: body(Buffer.from([0xff])) })
  t.equal(altered.statusCode, 401, 'other bytes, same text after decoding: refused')
  const stray = body(Buffer.from([0xff]))
  const strayOk = await w.gw.inject({ method: 'POST', url: '/github/webhook', headers: headers('sha256=' + createHmac('sha256', WEBHOOK_SECRET).update(stray).digest('hex'), 'bytes-2'), payload: stray })
  t.equal(strayOk.statusCode, 202, 'a body signed as sent verifies, whatever its bytes')
  t.equal((await w.gw.inject({ method: 'POST', url: '/github/webhook', headers: headers(signature, 'bytes-3'), payload: signed })).statusCode, 202)
})

t.test('POST /github/webhook is 404 without GITHUB_WEBHOOK_SECRET', async (t) => {
  const w = await world(t)
  const payload = '{}'
  const res = await w.gw.inject({ method: 'POST', url: '/github/webhook', headers: { 'content-type': 'application/json', 'x-github-event': 'ping', 'x-hub-signature-256': await sign('x', payload) }, payload })
  t.equal(res.statusCode, 404)
})
