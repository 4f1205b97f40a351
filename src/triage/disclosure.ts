// Is the issue already public, or being exploited? SECURITY.md: for a public
// disclosure "all timelines become ASAP". The wording rules look for what reporters
// write and skip a phrase negated just before it ("not yet public", "no public PoC").
import { scanned } from './text.js'

export interface Disclosure {
  publiclyDisclosed: boolean
  exploited: boolean
  /** Which rules matched (our own labels, never report text). */
  reasons: string[]
}

const PUBLIC: Array<[string, RegExp]> = [
  ['"already public" wording', /\b(?:already|is|now|been|went|made|gone) (?:fully )?public\b/gi],
  ['"publicly disclosed" wording', /\b(?:publicly (?:disclosed|known|available|posted|reported)|public(?:ly)? disclosure|disclosed publicly|full disclosure)\b/gi],
  ['public issue or pull request', /\b(?:public|open) (?:github )?(?:issue|pull request|PR|bug report|tweet|blog post|write-?up|gist)\b/gi],
  ['public proof of concept', /\b(?:public(?:ly available)? (?:PoC|proof[- ]of[- ]concept|exploit)|(?:PoC|proof[- ]of[- ]concept|exploit) (?:is |was )?(?:already )?(?:public|published|on github))\b/gi],
  ['exploit database link', /\b(?:exploit-db\.com|packetstormsecurity\.com)\//gi],
  ['CVE reference', /\b(?:CVE-\d{4}-\d{4,7}|nvd\.nist\.gov\/vuln\/detail|cve\.org\/CVERecord|cve\.mitre\.org\/cgi-bin)/gi]
]

const EXPLOITED: Array<[string, RegExp]> = [
  ['"in the wild" wording', /\b(?:in the wild|actively exploited|active exploitation|being exploited|exploited by attackers)\b/gi],
  ['0-day wording', /\b(?:0-?day|zero-?day)\b/gi]
]

// "not", "no", "never", "isn't", "hasn't been", "without" shortly before the phrase.
const NEGATION = /\b(?:not|no|never|nor|isn't|isnt|hasn't|hasnt|haven't|wasn't|without|before it is|before it's|until)\b[^.!?\n]{0,20}$/i

export function findDisclosure (text: string): Disclosure {
  const head = scanned(text)
  const reasons: string[] = []
  const check = (rules: Array<[string, RegExp]>): boolean => {
    let any = false
    for (const [label, re] of rules) {
      for (const m of head.matchAll(re)) {
        const before = head.slice(Math.max(0, m.index - 30), m.index)
        if (NEGATION.test(before)) continue
        reasons.push(label)
        any = true
        break
      }
    }
    return any
  }
  const publiclyDisclosed = check(PUBLIC)
  const exploited = check(EXPLOITED)
  return { publiclyDisclosed: publiclyDisclosed || exploited, exploited, reasons }
}

/** CVE ids the report names (for the team; the advisory's own CVE is requested separately). */
export function findCveIds (text: string): string[] {
  return [...new Set((scanned(text).match(/\bCVE-\d{4}-\d{4,7}\b/g) ?? []))].slice(0, 10)
}
