// Issue 9, point 5: the release announcement on Discord. A local HTTP server stands in for
// the webhook (DISCORD_WEBHOOK_URL); the GitHub stub plays the maintainer who writes the
// advisory's sections and publishes it. Posted after publication only (poll or webhook),
// exactly once (restart, redelivery, another poll, the command), at most once when the
// outcome of a POST is unknown, and never with anything of the report in it.
import t, { type Test } from 'tap'
import { sign } from '@octokit/webhooks-methods'
import { fire, mailsTo, report, teamSubjects, world, type World } from '../helpers/advisory-world.js'
import { startChatSink, type ChatSink } from '../helpers/chat-sink.js'
import { dumpValues } from '../helpers/redis.js'
import { advisoryCommand } from '../../src/cli/advisory.js'
import { gatewayKeys } from '../../src/queue/jobs.js'
import { reportEvents } from '../../src/store/events.js'

const WEBHOOK_SECRET = 'whsec-test-0123456789abcdef'

const SECTIONS = [
  '### Impact',
  'Prompts can make the fetch tool read internal addresses (SSRF).',
  '',
  '### Patches',
  'Upgrade to 1.4.2.',
  '',
  '### Workarounds',
  'Block 169.254.0.0/16 at the egress proxy.',
  '',
  '### References',
  '- https://example.org/ssrf',
  ''
].join('\n')

async function setup (t: Test, env: Record<string, string> = {}): Promise<{ w: World, discord: ChatSink, secret: string, intakeId: string, ghsaId: string }> {
  const discord = await startChatSink()
  t.teardown(discord.close)
  const w = await world(t, { DISCORD_WEBHOOK_URL: discord.url, GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET, ...env })
  // The report looks like GitHub's advisory template itself: none of it may be announced.
  const secret = `CANARY-${Math.random().toString(36).slice(2)}`
  const { intakeId, ghsaId } = await report(w, `${secret}\n\n### Impact\n\n${secret} impact\n\n### Workarounds\n\n${secret} workaround\n`)
  return { w, discord, secret, intakeId, ghsaId }
}

/** The maintainer writes the sections above what the gateway filed, sets the fix, and publishes. */
function publish (w: World, ghsaId: string, sections = SECTIONS): void {
  const filed = w.stub.advisories.find((a) => a.ghsa_id === ghsaId)!
  w.stub.changeAdvisory(ghsaId, {
    summary: 'SSRF in the fetch tool',
    description: `${sections}\n${filed.description ?? ''}`,
    severity: 'high',
    vulnerabilities: [{ package: { ecosystem: 'npm', name: '@stacklok/fetch' }, vulnerable_version_range: '< 1.4.2', patched_versions: '1.4.2' }],
    cve_id: 'CVE-2026-41234',
    state: 'published'
  })
}

async function cli (w: World, ...args: string[]): Promise<{ code: number, text: string }> {
  let text = ''
  const code = await advisoryCommand(w.gw.config(), args, (s) => { text += s })
  return { code, text }
}

async function webhook (t: Test, w: World, ghsaId: string, delivery: string): Promise<void> {
  const payload = JSON.stringify({ action: 'published', repository_advisory: { ghsa_id: ghsaId }, repository: { name: 'security-reports', owner: { login: 'acme' } } })
  const res = await w.gw.inject({ method: 'POST', url: '/github/webhook', headers: { 'content-type': 'application/json', 'x-github-event': 'repository_advisory', 'x-github-delivery': delivery, 'x-hub-signature-256': await sign(WEBHOOK_SECRET, payload) }, payload })
  t.equal(res.statusCode, 202, 'webhook accepted')
}

t.test('publication seen by the poll: one post whose body is checked; a restart, the webhook, another poll and the command post nothing more', async (t) => {
  const { w, discord, secret, intakeId, ghsaId } = await setup(t)
  const advisoryUrl = `https://github.com/acme/security-reports/security/advisories/${ghsaId}`

  // Before publication: a preview, a refusal, and nothing in the channel.
  const preview = await cli(w, 'announce', ghsaId, '--dry-run')
  t.equal(preview.code, 0)
  t.match(preview.text, /^PREVIEW, nothing posted: GHSA-\S+ is draft; it is posted only once the advisory is published\./)
  t.match(preview.text, advisoryUrl)
  const refused = await cli(w, 'announce', ghsaId)
  t.equal(refused.code, 1)
  t.match(refused.text, /refused: GHSA-\S+ is draft; the announcement is posted only after publication/)
  t.equal(await fire(w, `remind-${intakeId}-0`), 'reminded', 'a draft: the poll reminds')
  t.equal(await w.timeline.getJob(`announce-${intakeId}`), undefined, 'no announcement queued for a draft')
  t.equal(discord.posts.length, 0)

  publish(w, ghsaId)
  t.equal(await fire(w, `remind-${intakeId}-1`), 'published', 'the poll sees the publication')
  t.equal(await fire(w, `announce-${intakeId}`), 'posted')
  t.equal(discord.posts.length, 1, 'one post')
  const body = discord.posts[0]!
  t.same(Object.keys(body).sort(), ['allowed_mentions', 'content'], 'Discord JSON: content and allowed_mentions only')
  t.same(body.allowed_mentions, { parse: [] }, 'nobody is pinged')
  const content = body.content as string
  t.ok(content.length <= 2000, 'within Discord\'s limit')
  t.match(content, '**Security release: SSRF in the fetch tool**')
  t.match(content, `**CVE:** CVE-2026-41234 (${ghsaId})`)
  t.match(content, '**Severity:** High')
  t.match(content, '**Repository:** acme/security-reports')
  t.match(content, /\*\*Impact\*\*\nPrompts can make the fetch tool read internal addresses \(SSRF\)\./)
  t.match(content, /\*\*Fixed versions\*\*\n- npm `@stacklok\/fetch`: \*\*1\.4\.2\*\* \(affected: < 1\.4\.2\)/)
  t.match(content, /\*\*Mitigations\*\*\nBlock 169\.254\.0\.0\/16 at the egress proxy\./)
  t.match(content, `Advisory: ${advisoryUrl}`)
  t.equal(discord.raw.join('').indexOf(secret), -1, 'nothing of the report, though it has the same headings')
  const events = await reportEvents(w.gw.redis, w.gw.prefix).list(intakeId)
  t.match(events.find((e) => e.kind === 'announced'), { detail: 'posted to Discord' }, 'recorded in the event record')
  t.equal((await cli(w, 'timeline', ghsaId)).text.includes('release announced  (posted to Discord)'), true, 'and shown by advisory timeline')

  // A restart, a webhook for the same publication, another poll, a stray job, the command.
  await w.gw.restartWorker()
  await webhook(t, w, ghsaId, 'after-restart')
  t.equal(await fire(w, 'gh-after-restart'), 'published')
  await w.timeline.add('advisory-reminder', { intakeId, owner: 'acme', repo: 'security-reports', ghsaId, step: 5, urgent: false }, { jobId: `remind-${intakeId}-again` })
  t.equal(await fire(w, `remind-${intakeId}-again`), 'published', 'another poll')
  await w.timeline.add('announce', { intakeId, owner: 'acme', repo: 'security-reports', ghsaId }, { jobId: `announce-${intakeId}-again` })
  t.equal(await fire(w, `announce-${intakeId}-again`), 'already announced', 'even a second job does not post')
  const again = await cli(w, 'announce', ghsaId)
  t.equal(again.code, 0)
  t.match(again.text, /was announced at .*: nothing posted/)
  t.equal(discord.posts.length, 1, 'still one post')

  const after = await cli(w, 'announce', ghsaId, '--dry-run')
  t.match(after.text, /is published; already posted at /, 'the preview says it is out')
  t.match(after.text, /----- announcement \(\d+ characters\) -----\n:rotating_light: \*\*Security release/)
  t.same(w.stub.invalidRequests, [])
  t.equal(Buffer.concat(await dumpValues(w.gw.redis, w.gw.prefix)).indexOf(secret), -1, 'no report text in Redis')
  t.notOk(w.gw.logs.some((l) => l.includes(discord.url)), 'the webhook URL is never logged')
})

t.test('publication seen by the webhook: one post; a draft advisory-event posts nothing', async (t) => {
  const { w, discord, secret, intakeId, ghsaId } = await setup(t)
  await webhook(t, w, ghsaId, 'while-draft')
  t.equal(await fire(w, 'gh-while-draft'), 'state draft', 'a draft event: nothing to do')
  t.equal(await w.timeline.getJob(`announce-${intakeId}`), undefined)

  // Published with no sections written: the summary stands in for the impact.
  const filed = w.stub.advisories.find((a) => a.ghsa_id === ghsaId)!
  w.stub.changeAdvisory(ghsaId, { summary: 'Path traversal in the widget', state: 'published', description: filed.description ?? '' })
  await webhook(t, w, ghsaId, 'published')
  t.equal(await fire(w, 'gh-published'), 'published')
  t.equal(await fire(w, `announce-${intakeId}`), 'posted')
  t.equal(discord.posts.length, 1)
  const content = discord.posts[0]!.content as string
  t.match(content, /\*\*Impact\*\*\nPath traversal in the widget\n/)
  t.match(content, /\*\*Mitigations\*\*\nNo workaround is documented: upgrade to a fixed version\./)
  t.match(content, '**CVE:** none assigned')
  t.equal(discord.raw.join('').indexOf(secret), -1, 'the report\'s own "### Impact" is never taken')
  await webhook(t, w, ghsaId, 'redelivered')
  t.equal(await fire(w, 'gh-redelivered'), 'published')
  t.equal(await fire(w, `remind-${intakeId}-0`), 'published')
  t.equal(discord.posts.length, 1, 'once per advisory')
})

t.test('an unknown outcome (the webhook hung up after the request) leaves the marker: no second post until the team forces it', async (t) => {
  const { w, discord, intakeId, ghsaId } = await setup(t)
  discord.failNext('hang-up')
  publish(w, ghsaId)
  t.equal(await fire(w, `remind-${intakeId}-0`), 'published')
  t.equal(await fire(w, `announce-${intakeId}`), 'unconfirmed', 'not retried: it may be in the channel')
  t.equal(discord.posts.length, 1, 'the sink got it (Discord may have posted it)')
  const state = await w.gw.redis.hgetall(gatewayKeys(w.gw.prefix).state(intakeId))
  t.ok(state['timeline.announce.pending'], 'the pending marker stays')
  t.notOk(state['timeline.announced'], 'no done record')
  t.notOk(await reportEvents(w.gw.redis, w.gw.prefix).has(intakeId, 'announced'), 'not recorded as announced')

  await w.gw.waitFor(async () => (await teamSubjects(w)).some((s) => s === `[security intake] Check the release announcement for ${ghsaId}`), 'team told')
  const told = mailsTo(w, 'team@example.org').find((m) => m.raw.toString('latin1').includes('Check the release announcement'))!
  t.match(told.raw.toString('latin1'), `npm run intake -- advisory announce ${ghsaId} --force`)
  t.ok(w.chat.posts.some((p) => /Check the release announcement/.test(p.text ?? '')), 'and the team chat')

  // A restart and a second run of the job: no blind repeat, the team is not told twice.
  await w.gw.restartWorker()
  await w.timeline.add('announce', { intakeId, owner: 'acme', repo: 'security-reports', ghsaId }, { jobId: `announce-${intakeId}-retry` })
  t.equal(await fire(w, `announce-${intakeId}-retry`), 'unconfirmed')
  const plain = await cli(w, 'announce', ghsaId)
  t.equal(plain.code, 1)
  t.match(plain.text, /may have reached Discord: nothing posted\. Look in the channel; if it is not there: npm run intake -- advisory announce GHSA-\S+ --force/)
  t.equal(discord.posts.length, 1, 'nothing posted again')
  t.equal((await teamSubjects(w)).filter((s) => s.startsWith('[security intake] Check the release announcement')).length, 1, 'told once')

  // The team looked: not there. --force posts, and only once.
  const forced = await cli(w, 'announce', ghsaId, '--force')
  t.equal(forced.code, 0)
  t.match(forced.text, 'posted the release announcement')
  t.equal(discord.posts.length, 2)
  t.equal((await cli(w, 'announce', ghsaId, '--force')).code, 0, 'a done record is final, --force or not')
  t.equal(discord.posts.length, 2)
  t.match((await reportEvents(w.gw.redis, w.gw.prefix).list(intakeId)).find((e) => e.kind === 'announced'), { detail: 'posted to Discord' })
})

t.test('a definite HTTP error clears the marker: the retry posts once; refused on every attempt, the team is told and the command posts', async (t) => {
  const { w, discord, intakeId, ghsaId } = await setup(t)
  discord.failNext(500)
  publish(w, ghsaId)
  t.equal(await fire(w, `remind-${intakeId}-0`), 'published')
  t.equal(await fire(w, `announce-${intakeId}`), 'posted', 'retried after the 500')
  t.equal(discord.posts.length, 1, 'one post')
  t.equal((await w.timeline.getJob(`announce-${intakeId}`))?.stacktrace?.length, 1, 'one failed attempt before it')

  const second = await setup(t)
  second.discord.failNext(403, 3) // every attempt (JOB_ATTEMPTS=3)
  publish(second.w, second.ghsaId)
  t.equal(await fire(second.w, `remind-${second.intakeId}-0`), 'published')
  t.equal(await fire(second.w, `announce-${second.intakeId}`), 'not posted: 403')
  t.equal(second.discord.posts.length, 0)
  t.notOk(await second.w.gw.redis.hget(gatewayKeys(second.w.gw.prefix).state(second.intakeId), 'timeline.announce.pending'), 'no marker: it certainly was not posted')
  await second.w.gw.waitFor(async () => (await teamSubjects(second.w)).some((s) => s.includes('Check the release announcement')), 'team told')
  const posted = await cli(second.w, 'announce', second.ghsaId)
  t.equal(posted.code, 0, 'the command posts without --force')
  t.equal(second.discord.posts.length, 1)
})

t.test('without DISCORD_WEBHOOK_URL nothing is posted and the record says so; the command too', async (t) => {
  const w = await world(t)
  const { intakeId, ghsaId } = await report(w, 'x')
  publish(w, ghsaId)
  t.equal(await fire(w, `remind-${intakeId}-0`), 'published')
  t.equal(await fire(w, `announce-${intakeId}`), 'not posted: no DISCORD_WEBHOOK_URL')
  t.match((await reportEvents(w.gw.redis, w.gw.prefix).list(intakeId)).find((e) => e.kind === 'announced'), { detail: 'not posted: DISCORD_WEBHOOK_URL is not set' })
  const res = await cli(w, 'announce', ghsaId)
  t.equal(res.code, 1)
  t.match(res.text, /^DISCORD_WEBHOOK_URL is not set: nothing posted\. The announcement would be:\n:rotating_light:/)
  t.notOk(w.chat.posts.some((p) => /Security release/.test(JSON.stringify(p))), 'the team chat (NOTIFY_WEBHOOK_URL) is not the announcement channel')
})
