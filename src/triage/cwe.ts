// CWE ids named in a report ("CWE-79", "CWE 22", "cwe-1321"), normalised to GitHub's
// "CWE-<n>" form. MITRE numbers weaknesses from 1 and the list ends in the 1400s; a
// number with a leading zero or past CWE_MAX is a typo or a forgery, not an id.
import { scanned, unique } from './text.js'

const CWE_MAX = 2000
const CWES_MAX = 10

export function findCweIds (text: string): string[] {
  const ids: string[] = []
  for (const m of scanned(text).matchAll(/\bCWE[-\s:]?(\d{1,6})\b/gi)) {
    const digits = m[1] ?? ''
    const n = Number(digits)
    if (digits.startsWith('0') || n < 1 || n > CWE_MAX) continue
    ids.push(`CWE-${n}`)
  }
  return unique(ids, CWES_MAX)
}
