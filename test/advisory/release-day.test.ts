// Issue 9, point 3: the release-day rule on fixed dates. The first Monday-Thursday whose
// 16:00 UTC is at least 24 hours away: never today, never Friday or the weekend.
import t from 'tap'
import { formatReleaseDay, parseReleaseDate, proposeReleaseDay } from '../../src/advisory/release-day.js'

const at = (iso: string) => new Date(iso)
const propose = (iso: string) => proposeReleaseDay(at(iso)).toISOString()

t.test('proposal: Friday and the weekend go to the next Monday (or Tuesday when Monday is under 24 hours away)', async (t) => {
  t.equal(propose('2026-12-04T09:00:00Z'), '2026-12-07T16:00:00.000Z', 'Friday morning -> Monday')
  t.equal(propose('2026-12-04T18:00:00Z'), '2026-12-07T16:00:00.000Z', 'Friday evening -> Monday')
  t.equal(propose('2026-12-05T12:00:00Z'), '2026-12-07T16:00:00.000Z', 'Saturday -> Monday')
  t.equal(propose('2026-12-06T10:00:00Z'), '2026-12-07T16:00:00.000Z', 'Sunday morning -> Monday (30 hours ahead)')
  t.equal(propose('2026-12-06T17:00:00Z'), '2026-12-08T16:00:00.000Z', 'Sunday 17:00 -> Tuesday: Monday 16:00 is 23 hours away')
})

t.test('proposal: Monday-Thursday before and after 16:00 UTC', async (t) => {
  t.equal(propose('2026-11-30T09:00:00Z'), '2026-12-01T16:00:00.000Z', 'Monday 09:00 -> Tuesday, not today')
  t.equal(propose('2026-11-30T15:59:59Z'), '2026-12-01T16:00:00.000Z', 'Monday just before 16:00 -> Tuesday')
  t.equal(propose('2026-11-30T16:00:00Z'), '2026-12-01T16:00:00.000Z', 'Monday 16:00 -> Tuesday, exactly 24 hours')
  t.equal(propose('2026-11-30T16:00:01Z'), '2026-12-02T16:00:00.000Z', 'Monday just after 16:00 -> Wednesday')
  t.equal(propose('2026-12-02T08:00:00Z'), '2026-12-03T16:00:00.000Z', 'Wednesday morning -> Thursday')
  t.equal(propose('2026-12-03T10:00:00Z'), '2026-12-07T16:00:00.000Z', 'Thursday morning -> Monday (Friday is skipped)')
  t.equal(propose('2026-12-03T20:00:00Z'), '2026-12-07T16:00:00.000Z', 'Thursday evening -> Monday')
})

t.test('proposal: across the year end', async (t) => {
  t.equal(propose('2026-12-30T17:00:00Z'), '2027-01-04T16:00:00.000Z', 'Wed 30 Dec after 16:00 -> Mon 4 Jan (Thu 31 Dec is 23 h away, 1 Jan a Friday)')
  t.equal(propose('2026-12-31T23:59:59Z'), '2027-01-04T16:00:00.000Z', 'New Year\'s Eve -> Monday')
  t.equal(propose('2025-12-31T10:00:00Z'), '2026-01-01T16:00:00.000Z', 'Wed 31 Dec 2025 morning -> Thu 1 Jan (holidays are not known: --date)')
  t.equal(propose('2028-02-28T20:00:00Z'), '2028-03-01T16:00:00.000Z', 'leap year: Mon 28 Feb evening -> Wed 1 Mar (Tue 29 Feb is 20 h away)')
})

t.test('every proposal is the first Monday-Thursday 16:00 UTC at least 24 hours ahead (at most 5 days)', async (t) => {
  const DAY = 24 * 3_600_000
  const qualifies = (d: Date, now: Date) => [1, 2, 3, 4].includes(d.getUTCDay()) && d.getTime() - now.getTime() >= DAY
  let failures = 0
  const start = Date.parse('2026-01-01T00:00:00Z')
  for (let h = 0; h < 24 * 28; h += 7) {
    const now = new Date(start + h * 3_600_000 + 1234)
    const day = proposeReleaseDay(now)
    let ok = qualifies(day, now) && day.getUTCHours() === 16 && day.getUTCMinutes() === 0 && day.getTime() - now.getTime() <= 5 * DAY
    for (let earlier = new Date(day.getTime() - DAY); earlier.getTime() > now.getTime(); earlier = new Date(earlier.getTime() - DAY)) {
      if (qualifies(earlier, now)) ok = false
    }
    if (!ok) failures++
    if (!ok) t.fail(`${now.toISOString()} -> ${day.toISOString()}`)
  }
  t.equal(failures, 0, '96 times over four weeks')
  t.throws(() => proposeReleaseDay(new Date('nonsense')), RangeError)
})

t.test('--date: a chosen day at 16:00 UTC; invalid, past and far days refused; Friday and weekend only with --force', async (t) => {
  const now = at('2026-11-30T09:00:00Z') // a Monday
  t.same(parseReleaseDate('2026-12-02', now), { ok: true, at: at('2026-12-02T16:00:00Z'), warnings: [] })
  for (const bad of ['2026-12-2', '02/12/2026', '2026-12-02T10:00', '', 'tomorrow']) {
    t.match(parseReleaseDate(bad, now), { ok: false, error: /not a date/ }, `"${bad}"`)
  }
  t.match(parseReleaseDate('2026-02-30', now), { ok: false, error: /no such day/ })
  t.match(parseReleaseDate('2026-13-01', now), { ok: false, error: /no such day/ })
  t.match(parseReleaseDate('2026-11-27', now), { ok: false, error: /in the past/ })
  t.match(parseReleaseDate('2026-11-30', at('2026-11-30T16:30:00Z')), { ok: false, error: /in the past/ }, 'today after 16:00')
  t.match(parseReleaseDate('2028-01-04', now), { ok: false, error: /more than a year ahead/ })

  t.match(parseReleaseDate('2026-12-04', now), { ok: false, error: /is a Friday: SECURITY\.md recommends a non-Friday weekday.*--force/ })
  t.match(parseReleaseDate('2026-12-05', now), { ok: false, error: /is a Saturday/ })
  t.match(parseReleaseDate('2026-12-06', now), { ok: false, error: /is a Sunday/ })
  t.match(parseReleaseDate('2026-12-04', now, { force: true }), { ok: true, at: at('2026-12-04T16:00:00Z'), warnings: [/is a Friday/] })

  t.match(parseReleaseDate('2026-11-30', now), { ok: true, at: at('2026-11-30T16:00:00Z'), warnings: [/less than 24 hours/] }, 'today before 16:00: allowed, with a warning')
})

t.test('format', async (t) => {
  t.equal(formatReleaseDay(at('2026-12-01T16:00:00Z')), 'Tuesday 2026-12-01 16:00 UTC')
})
