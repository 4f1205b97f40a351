// Issue 9, point 3: `intake advisory schedule <GHSA> [--date YYYY-MM-DD]` stores the
// release day, replaces its timeline event when the day moves, and the team reminders
// (mail and chat) show it. Dates are relative to today, since the command's clock is real.
import t from 'tap'
import { advisoryCommand } from '../../src/cli/advisory.js'
import { reportEvents } from '../../src/store/events.js'
import { progressStore } from '../../src/store/progress.js'
import { formatReleaseDay, proposeReleaseDay, releaseAtValue } from '../../src/advisory/release-day.js'
import { openMail } from '../helpers/pgp-mail.js'
import { fire, mailsTo, report, world, type World } from '../helpers/advisory-world.js'

async function run (w: World, args: string[]): Promise<{ code: number, out: string }> {
  let out = ''
  const code = await advisoryCommand(w.gw.config(), args, (s) => { out += s })
  return { code, out }
}

/** YYYY-MM-DD of the first day at least `minDays` from today (UTC) on one of `weekdays`. */
function dayAhead (weekdays: number[], minDays: number): string {
  const d = new Date()
  d.setUTCHours(12, 0, 0, 0)
  d.setUTCDate(d.getUTCDate() + minDays)
  while (!weekdays.includes(d.getUTCDay())) d.setUTCDate(d.getUTCDate() + 1)
  return d.toISOString().slice(0, 10)
}

const at16 = (day: string) => new Date(`${day}T16:00:00Z`)
const scheduled = async (w: World, intakeId: string) => (await reportEvents(w.gw.redis, w.gw.prefix).list(intakeId)).filter((e) => e.kind === 'release-scheduled')
const releaseAt = async (w: World, intakeId: string) => (await progressStore(w.gw.redis, w.gw.prefix).get(intakeId)).releaseAt

t.test('schedule proposes the next Mon-Thu 16:00 UTC, stores it, and a --date moves it (one event, the new day)', async (t) => {
  const w = await world(t)
  const { intakeId, ghsaId } = await report(w, 'x')

  const before = proposeReleaseDay(new Date())
  const proposed = await run(w, ['schedule', ghsaId])
  const after = proposeReleaseDay(new Date())
  t.equal(proposed.code, 0, proposed.out)
  const day = [before, after].find((d) => proposed.out === `release day for ${ghsaId}: ${formatReleaseDay(d)}\n`)
  t.ok(day, `printed the proposal: ${proposed.out}`)
  t.equal(await releaseAt(w, intakeId), releaseAtValue(day!), 'stored in progress releaseAt')
  t.match(await releaseAt(w, intakeId), /^\d{4}-\d\d-\d\dT16:00:00Z$/)
  t.match(await scheduled(w, intakeId), [{ detail: formatReleaseDay(day!) }])

  const later = dayAhead([2, 3], 8) // a Tuesday or Wednesday, past any proposal
  const moved = await run(w, ['schedule', ghsaId, '--date', later])
  t.equal(moved.code, 0, moved.out)
  t.equal(moved.out, `release day for ${ghsaId}: ${formatReleaseDay(at16(later))} (moved from ${formatReleaseDay(day!)})\n`)
  t.equal(await releaseAt(w, intakeId), `${later}T16:00:00Z`)
  const events = await scheduled(w, intakeId)
  t.equal(events.length, 1, 'one release-scheduled event')
  t.equal(events[0]?.detail, formatReleaseDay(at16(later)), 'showing the new day')

  const timeline = await run(w, ['timeline', ghsaId])
  t.match(timeline.out, `release day set  (${formatReleaseDay(at16(later))})`)
})

t.test('schedule --date refuses invalid, past and Friday/weekend days (these with --force only)', async (t) => {
  const w = await world(t)
  const { intakeId, ghsaId } = await report(w, 'x')
  const kept = dayAhead([1, 4], 3)
  t.equal((await run(w, ['schedule', ghsaId, `--date=${kept}`])).code, 0)

  const refusals: Array<[string[], number, RegExp]> = [
    [['--date', '2026-02-30'], 1, /no such day: 2026-02-30/],
    [['--date', 'next week'], 1, /not a date \(YYYY-MM-DD\)/],
    [['--date', '2020-01-06'], 1, /is in the past/],
    [['--date', dayAhead([5], 2)], 1, /is a Friday: SECURITY\.md recommends a non-Friday weekday \(Monday-Thursday\); pass --force to keep it/],
    [['--date', dayAhead([6], 2)], 1, /is a Saturday/],
    [['--date', dayAhead([0], 2)], 1, /is a Sunday/],
    [['--when', kept], 2, /unknown argument: --when/],
    [['--force'], 2, /--force goes with --date/]
  ]
  for (const [flags, code, message] of refusals) {
    const res = await run(w, ['schedule', ghsaId, ...flags])
    t.equal(res.code, code, flags.join(' '))
    t.match(res.out, message)
  }
  t.equal(await releaseAt(w, intakeId), `${kept}T16:00:00Z`, 'a refused day changes nothing')
  t.match(await scheduled(w, intakeId), [{ detail: formatReleaseDay(at16(kept)) }])

  const friday = dayAhead([5], 2)
  const forced = await run(w, ['schedule', ghsaId, '--date', friday, '--force'])
  t.equal(forced.code, 0)
  t.match(forced.out, /^warning: \S+ is a Friday: SECURITY\.md recommends/)
  t.equal(await releaseAt(w, intakeId), `${friday}T16:00:00Z`)
})

t.test('the team reminders show the release day once it is set', async (t) => {
  const w = await world(t)
  const { intakeId, ghsaId } = await report(w, 'x')
  const reminderTexts = async () => await Promise.all(mailsTo(w, 'team@example.org').slice(1).map(async (m) => (await openMail(w.gpg, m.raw)).text))
  const chatReminders = () => w.chat.posts.map((p) => JSON.stringify(p)).filter((p) => p.includes('Reminder'))

  t.equal(await fire(w, `remind-${intakeId}-0`), 'reminded')
  t.match((await reminderTexts())[0], /Release day: not agreed yet/)
  t.notMatch(chatReminders()[0], 'Release day')

  const day = dayAhead([1, 2, 3, 4], 2)
  t.equal((await run(w, ['schedule', ghsaId, '--date', day])).code, 0)
  t.equal(await fire(w, `remind-${intakeId}-1`), 'reminded')
  t.match((await reminderTexts())[1], `Release day: ${formatReleaseDay(at16(day))}`)
  t.match(chatReminders()[1], `Release day: ${formatReleaseDay(at16(day))}`)
  t.same(w.stub.invalidRequests, [])
})
