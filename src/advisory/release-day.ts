// The release day (SECURITY.md: 4pm UTC on a non-Friday weekday), as `intake advisory
// schedule <GHSA> [--date YYYY-MM-DD]` proposes or takes it. The date functions are pure:
// `now` is an argument, so the rule is tested on fixed dates.
//
// The rule: the first Monday-Thursday whose 16:00 UTC is at least 24 hours after `now`.
// Today is therefore never proposed, and the Private Distributors get a full day's
// notice at least. Public holidays are not known here: pick another day with --date.
import type { ReportEvents } from '../store/events.js'
import type { ProgressStore } from '../store/progress.js'

const RELEASE_HOUR_UTC = 16
const MIN_LEAD_MS = 24 * 3_600_000
/** A date further ahead is more likely a typo than a plan. */
const MAX_AHEAD_MS = 366 * 24 * 3_600_000

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']

/** Monday (1) to Thursday (4): no Friday, no weekend. */
function isReleaseWeekday (day: Date): boolean {
  const d = day.getUTCDay()
  return d >= 1 && d <= 4
}

export function proposeReleaseDay (now: Date): Date {
  if (Number.isNaN(now.getTime())) throw new RangeError('now is not a date')
  const earliest = now.getTime() + MIN_LEAD_MS
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), RELEASE_HOUR_UTC))
  // At most 1 (lead) + 3 (Friday to Monday) steps.
  while (day.getTime() < earliest || !isReleaseWeekday(day)) day.setUTCDate(day.getUTCDate() + 1)
  return day
}

export type ReleaseDate = { ok: true, at: Date, warnings: string[] } | { ok: false, error: string }

/**
 * A day the team chose (`--date YYYY-MM-DD`), released at 16:00 UTC. Refused: not a
 * calendar date, already past, more than a year ahead, and (unless forced) a Friday or
 * a weekend day. Under 24 hours ahead is allowed with a warning.
 */
export function parseReleaseDate (text: string, now: Date, opts: { force?: boolean } = {}): ReleaseDate {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim())
  if (m === null) return { ok: false, error: `not a date (YYYY-MM-DD): ${text.slice(0, 40)}` }
  const [year, month, date] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const at = new Date(Date.UTC(year, month - 1, date, RELEASE_HOUR_UTC))
  if (at.getUTCFullYear() !== year || at.getUTCMonth() !== month - 1 || at.getUTCDate() !== date) return { ok: false, error: `no such day: ${text.trim()}` }
  if (at.getTime() <= now.getTime()) return { ok: false, error: `${formatReleaseDay(at)} is in the past` }
  if (at.getTime() - now.getTime() > MAX_AHEAD_MS) return { ok: false, error: `${formatReleaseDay(at)} is more than a year ahead` }
  const warnings: string[] = []
  if (!isReleaseWeekday(at)) {
    const why = `${text.trim()} is a ${DAY_NAMES[at.getUTCDay()]}: SECURITY.md recommends a non-Friday weekday (Monday-Thursday)`
    if (opts.force !== true) return { ok: false, error: `${why}; pass --force to keep it` }
    warnings.push(why)
  }
  if (at.getTime() - now.getTime() < MIN_LEAD_MS) warnings.push('less than 24 hours ahead: the Private Distributors get little notice')
  return { ok: true, at, warnings }
}

/**
 * `Tuesday 2026-12-01 16:00 UTC`: the weekday spelled out, since SECURITY.md cares which
 * one. Also from the stored form (progress `releaseAt`, an event's detail).
 */
export function formatReleaseDay (at: Date | string): string {
  const date = typeof at === 'string' ? new Date(at) : at
  if (Number.isNaN(date.getTime())) return 'an unreadable date'
  const iso = date.toISOString()
  return `${DAY_NAMES[date.getUTCDay()]} ${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`
}

/** The stored form (progress `releaseAt`): ISO 8601 UTC to the second. */
export function releaseAtValue (at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/**
 * Stores the day and puts it on the report's timeline. A moved day replaces the event,
 * so the timeline shows the day in force. Returns the previous day, if there was one.
 */
export async function recordReleaseDay (deps: { progress: ProgressStore, events: ReportEvents }, intakeId: string, at: Date): Promise<string | undefined> {
  const previous = (await deps.progress.get(intakeId)).releaseAt
  await deps.progress.set(intakeId, { releaseAt: releaseAtValue(at) })
  await deps.events.replace(intakeId, 'release-scheduled', { detail: formatReleaseDay(at) })
  return previous
}
