// Shared limits for the triage rules. Every rule reads report text, which a sender
// controls and which can be many megabytes: rules look at a bounded head of it, and
// every regex here is linear (no nested quantifiers over the same characters).

/** Characters of report text the rules read; findings come from the head of a report. */
const SCAN_CHARS = 256 * 1024

/** The part of a text the rules look at. */
export function scanned (text: string): string {
  return text.length <= SCAN_CHARS ? text : text.slice(0, SCAN_CHARS)
}

/** The same value once, first occurrence first, at most `max` of them. */
export function unique<T> (values: Iterable<T>, max: number, key: (v: T) => string = String): T[] {
  const seen = new Set<string>()
  const out: T[] = []
  for (const v of values) {
    const k = key(v)
    if (seen.has(k)) continue
    seen.add(k)
    out.push(v)
    if (out.length >= max) break
  }
  return out
}

/** GitHub's rule for user and organisation logins. */
export const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/

/** GitHub's repository name characters (names `.` and `..` are not allowed). */
export function isRepoName (name: string): boolean {
  return /^[A-Za-z0-9._-]{1,100}$/.test(name) && name !== '.' && name !== '..'
}
