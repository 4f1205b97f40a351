// Issue 9, point 6: RETROSPECTIVE_DELAY after publication the team gets a prepared
// retrospective draft, encrypted to the members' keys: the report's timeline with
// timestamps, how long each step took, who was involved (read from the advisory on
// GitHub), links, and SECURITY.md's open questions as headings. Nothing of the report.
import t from 'tap'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fire, mailsTo, report, world } from '../helpers/advisory-world.js'
import { createGpg } from '../helpers/gpg.js'
import { openMail } from '../helpers/pgp-mail.js'
import { teamKey } from '../helpers/team-key.js'
import { reportEvents } from '../../src/store/events.js'
import { durations, formatDuration } from '../../src/timeline/retrospective.js'

t.test('the retrospective draft: timeline lines, durations, people and links, encrypted to the team, no report text', async (t) => {
  const members = await createGpg()
  t.teardown(members.close)
  const alice = await members.generateKey({ name: 'Alice', email: 'alice@example.org', encryptionSubkey: 'cv25519' })
  await members.importKey((await teamKey()).armoredPublic)
  const dir = await mkdtemp(join(tmpdir(), 'members-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  await writeFile(join(dir, 'team.asc'), alice.armoredPublic)

  const w = await world(t, { TEAM_NOTIFY_KEYS_FILE: join(dir, 'team.asc') })
  const secret = `CANARY-${Math.random().toString(36).slice(2)}`
  const { intakeId, ghsaId } = await report(w, secret)
  w.stub.changeAdvisory(ghsaId, {
    collaborating_users: ['maintainer1', 'maintainer2'],
    collaborating_teams: ['fix-team'],
    credits: [{ login: 'rita-gh', type: 'finder' }, { login: 'maintainer1', type: 'remediation_developer' }],
    cve_id: 'CVE-2026-41234',
    state: 'published'
  })
  t.equal(await fire(w, `remind-${intakeId}-0`), 'published')
  t.equal(await fire(w, `retro-${intakeId}`), 'reminded')

  const mail = await w.gw.waitFor(() => mailsTo(w, 'team@example.org').find((m) => m.raw.toString('latin1').includes('Retrospective due for')), 'the draft')
  const opened = await openMail(members, mail.raw)
  t.equal(opened.kind, 'encrypted', 'encrypted to the team members')
  t.equal(opened.subject, `[security intake] Retrospective due for ${ghsaId}: a draft`)
  const text = opened.text
  const line = (label: string) => new RegExp(`^ {2}\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}Z {2}${label}`, 'm')
  for (const label of ['report received {2}\\(via raw\\)', 'report opened', 'draft advisory created', 'reporter acknowledged', 'team notified', 'advisory published {2}\\(CVE-2026-41234\\)']) {
    t.match(text, line(label), `timeline: ${label}`)
  }
  // (GitHub's published_at has whole seconds: here it may sort before the same second's events.)
  const order = ['report received', 'report opened', 'draft advisory created'].map((l) => text.indexOf(l))
  t.same([...order].sort((a, b) => a - b), order, 'in order, oldest first')
  t.match(text, /^ {2}Time to acknowledge: +(\d+[dhms] ?)+$/m)
  t.match(text, /^ {2}Time to advisory: +(\d+[dhms] ?)+$/m)
  t.match(text, /^ {2}Time to publish: +(\d+[dhms] ?)+$/m)
  t.match(text, /^ {2}Collaborators: @maintainer1, @maintainer2$/m)
  t.match(text, /^ {2}Teams: +@acme\/fix-team$/m)
  t.match(text, /^ {2}Credited: +@rita-gh \(finder\), @maintainer1 \(remediation developer\)$/m)
  t.match(text, `  Advisory: https://github.com/acme/security-reports/security/advisories/${ghsaId}`)
  t.match(text, '  CVE:      https://www.cve.org/CVERecord?id=CVE-2026-41234')
  for (const heading of ['PRs that introduced and fixed the issue:', 'What went well:', 'What could be improved in the response and the release process:', 'Follow-up actions (owner, due date):']) {
    t.match(text, heading, `open heading: ${heading}`)
  }
  t.ok(text.split('\n').every((l) => [...l].length <= 200), 'lines within bounds')
  t.equal(text.indexOf(secret), -1, 'no report text in the draft')
  for (const m of w.smtp.messages) t.equal(m.raw.indexOf(secret), -1, 'nor in any mail')
  t.ok(w.stub.requests.filter((r) => r.method === 'GET' && r.path.endsWith(ghsaId)).length >= 2, 'the people read from GitHub at retrospective time')

  const events = await reportEvents(w.gw.redis, w.gw.prefix).list(intakeId)
  t.match(events.find((e) => e.kind === 'retrospective-sent'), { detail: 'draft mailed to the team' }, 'recorded')
  t.ok(w.chat.posts.some((p) => /Retrospective due/.test(p.text ?? '')), 'the team chat is reminded (content-free)')
  t.same(w.stub.invalidRequests, [])
})

t.test('GitHub down at retrospective time: retried, then the draft goes without the people', async (t) => {
  const w = await world(t)
  const { intakeId, ghsaId } = await report(w, 'x')
  w.stub.changeAdvisory(ghsaId, { state: 'published' })
  t.equal(await fire(w, `remind-${intakeId}-0`), 'published')
  w.stub.failNext(403, 3, {}, { method: 'GET' }) // every attempt (JOB_ATTEMPTS=3)
  t.equal(await fire(w, `retro-${intakeId}`), 'reminded')
  const mail = mailsTo(w, 'team@example.org').find((m) => m.raw.toString('latin1').includes('Retrospective due for'))!
  const opened = await openMail(w.gpg, mail.raw)
  t.match(opened.text, '(GitHub did not answer: see the advisory)')
  t.match(opened.text, /report received/)
})

t.test('durations from the event record', async (t) => {
  const events = [
    { kind: 'received' as const, at: '2026-11-02T10:00:00.000Z' },
    { kind: 'acknowledged' as const, at: '2026-11-02T10:00:42.000Z' },
    { kind: 'advisory-created' as const, at: '2026-11-02T10:00:30.000Z' },
    { kind: 'published' as const, at: '2026-11-20T16:05:00.000Z' }
  ]
  t.same(durations(events), [
    'Time to acknowledge: 42s',
    'Time to advisory:    30s',
    'Time to publish:     18d 6h 5m'
  ])
  t.same(durations(events.slice(0, 1)), [
    'Time to acknowledge: unknown (not on record)',
    'Time to advisory:    unknown (not on record)',
    'Time to publish:     unknown (not on record)'
  ])
  // GitHub's published_at has whole seconds: in the second the report arrived it reads "earlier".
  t.same(durations([{ kind: 'received', at: '2026-11-02T10:00:00.640Z' }, { kind: 'published', at: '2026-11-02T10:00:00.000Z' }]).at(2), 'Time to publish:     0s', 'the same second is 0s, not unknown')
  t.equal(formatDuration(3_600_000), '1h')
})
