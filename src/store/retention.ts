// How long a report's progress, events and thread mappings are kept: long enough for the
// slowest SECURITY.md path (fix, release, retrospective) and an audit after it.
export const STATE_TTL_SECONDS = 180 * 24 * 3600
