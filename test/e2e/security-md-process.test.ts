// Issue 9, "done when": from one report, every step of SECURITY.md after intake is
// automatic or one documented command, and the report's timeline shows each step with
// its time. One encrypted report; then, as the Fix Team would: fork, CVE, release day,
// distributor notice; the maintainer publishes; the announcement and the retrospective
// follow by themselves. The GitHub stub validates every request against GitHub's schema.
import t from 'tap'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { advisoryCommand } from '../../src/cli/advisory.js'
import { fire, mailsTo, report, world, type World } from '../helpers/advisory-world.js'
import { startChatSink } from '../helpers/chat-sink.js'
import { createGpg } from '../helpers/gpg.js'
import { openMail } from '../helpers/pgp-mail.js'
import { dumpValues } from '../helpers/redis.js'

async function cli (w: World, args: string[]): Promise<{ code: number, text: string }> {
  let text = ''
  const code = await advisoryCommand(w.gw.config(), args, (s) => { text += s })
  return { code, text }
}

t.test('one report through every step of SECURITY.md, each on its timeline', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'security-md-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  const distro = await createGpg()
  t.teardown(distro.close)
  const distroKey = await distro.generateKey({ name: 'Example Linux', email: 'security@example-linux.org', encryptionSubkey: 'cv25519' })
  await writeFile(join(dir, 'example-linux.asc'), distroKey.armoredPublic)
  await writeFile(join(dir, 'distributors.yaml'), 'distributors:\n  - name: Example Linux\n    email: security@example-linux.org\n    key: example-linux.asc\n')
  const discord = await startChatSink()
  t.teardown(discord.close)
  const w = await world(t, { DISTRIBUTORS_FILE: join(dir, 'distributors.yaml'), DISCORD_WEBHOOK_URL: discord.url })
  await distro.importKey(w.team.armoredPublic)

  const secret = `CANARY-${Math.random().toString(36).slice(2)}`
  const { intakeId, ghsaId } = await report(w, secret)

  // The Fix Team's commands, one each.
  t.equal((await cli(w, ['fork', ghsaId])).code, 0, 'advisory fork')
  t.equal((await cli(w, ['request-cve', ghsaId])).code, 0, 'advisory request-cve')
  const scheduled = await cli(w, ['schedule', ghsaId])
  t.equal(scheduled.code, 0, 'advisory schedule')
  t.match(scheduled.text, /16:00 UTC/)
  w.stub.changeAdvisory(ghsaId, {
    summary: 'SSRF in the fetch tool',
    severity: 'high',
    vulnerabilities: [{ package: { ecosystem: 'npm', name: '@acme/fetch-tool' }, vulnerable_version_range: '< 1.4.2', patched_versions: '1.4.2' }]
  })
  t.equal((await cli(w, ['notify-distributors', ghsaId])).code, 0, 'advisory notify-distributors')
  const notice = await openMail(distro, mailsTo(w, 'security@example-linux.org')[0]!.raw)
  t.equal(notice.kind, 'encrypted', 'the distributor notice is encrypted to the distributor')
  t.same(notice.validSigners, [w.team.fingerprint], 'and signed by the team')

  // The maintainer publishes; the gateway notices, announces once and prepares the retrospective.
  w.stub.changeAdvisory(ghsaId, {
    state: 'published', cve_id: 'CVE-2026-45678',
    description: '### Impact\nAn attacker can make the server fetch internal URLs.\n\n### Workarounds\nBlock outbound requests to private ranges.\n'
  })
  t.equal(await fire(w, `remind-${intakeId}-0`), 'published')
  t.equal(await fire(w, `announce-${intakeId}`), 'posted')
  t.equal(discord.posts.length, 1, 'one announcement')
  t.match(discord.posts[0]!.content, /CVE-2026-45678/)
  t.equal(await fire(w, `retro-${intakeId}`), 'reminded')

  const { events } = JSON.parse((await cli(w, ['timeline', ghsaId, '--json'])).text) as { events: Array<{ kind: string, at: string }> }
  const kinds = events.map((e) => e.kind)
  for (const step of ['received', 'decrypted', 'advisory-created', 'acknowledged', 'team-notified', 'fork-created', 'cve-requested', 'release-scheduled', 'distributor-notice', 'published', 'announced', 'retrospective-sent']) {
    t.ok(kinds.includes(step), `the timeline shows ${step}`)
  }
  for (const e of events) t.ok(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/.test(e.at), `${e.kind} has its time`)
  const human = (await cli(w, ['timeline', ghsaId])).text
  for (const label of ['report received', 'draft advisory created', 'reporter acknowledged', 'temporary private fork created', 'CVE requested', 'release day set', 'distributor notified', 'advisory published', 'release announced', 'retrospective draft sent']) {
    t.match(human, label)
  }

  t.same(w.stub.invalidRequests, [], 'every GitHub request valid against the schema')
  for (const m of w.smtp.messages) t.equal(m.raw.indexOf(secret), -1, 'no report text in any mail')
  t.equal(discord.raw.join('').indexOf(secret), -1, 'none in the announcement')
  t.equal(human.indexOf(secret), -1, 'none in the timeline')
  t.equal(Buffer.concat(await dumpValues(w.gw.redis, w.gw.prefix)).indexOf(secret), -1, 'none in Redis')
})
