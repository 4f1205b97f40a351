// Affected and fixed versions as reporters state them, turned into GitHub's range
// syntax ("< 1.4.2", ">= 1.0.0, < 1.4.2", "<= 0.9.1"). Only labelled statements count
// ("affected versions: ...", "versions before 1.4.2", "fixed in 1.4.2"): a bare version
// number in a log could be anything.
import { scanned } from './text.js'

export interface VersionFindings {
  vulnerableRange?: string
  patched?: string
}

const V = 'v?(\\d{1,6}(?:\\.\\d{1,6}){0,3}(?:-[0-9A-Za-z.]{1,30})?)'
const OP = '(<=|>=|<|>|=|==)'

export function findVersions (text: string): VersionFindings {
  const head = scanned(text)
  const out: VersionFindings = {}
  const range = explicitRange(head) ?? wordedRange(head)
  if (range !== undefined) out.vulnerableRange = range
  const fixed = new RegExp(`\\b(?:fixed|patched|resolved) (?:in|by) (?:version |release )?${V}`, 'i').exec(head) ??
    new RegExp(`\\b(?:patched|fixed) versions?\\s*[:=]\\s*(?:>=\\s*)?${V}`, 'i').exec(head)
  if (fixed?.[1] !== undefined) out.patched = fixed[1]
  return out
}

// "Affected versions: >= 1.0.0, < 1.4.2" / "vulnerable versions: <= 0.9.1"
function explicitRange (head: string): string | undefined {
  const label = /\b(?:affected|vulnerable|impacted) (?:versions?|releases?)\s*[:=]?\s*([^\n]{1,120})/i.exec(head)
  if (label === null) return undefined
  const parts: string[] = []
  for (const m of (label[1] ?? '').matchAll(new RegExp(`${OP}\\s*${V}`, 'g'))) {
    parts.push(`${m[1] === '==' ? '=' : m[1]} ${m[2]}`)
    if (parts.length === 2) break
  }
  if (parts.length > 0) return parts.join(', ')
  return wordedRange(label[1] ?? '')
}

// "all versions before 1.4.2", "versions prior to 1.4.2", "up to and including 0.9.1", "1.0.0 through 1.4.1"
function wordedRange (head: string): string | undefined {
  const between = new RegExp(`\\b(?:versions?|releases?) ${V} (?:through|to|until) ${V}(?: inclusive)?`, 'i').exec(head)
  if (between !== null) return `>= ${between[1]}, <= ${between[2]}`
  const upTo = new RegExp(`\\b(?:versions?|releases?)?\\s*(?:up to and including|up to|through|<=) ${V}`, 'i').exec(head)
  const before = new RegExp(`\\b(?:versions?|releases?) (?:before|prior to|older than|below|earlier than) ${V}`, 'i').exec(head)
  if (before !== null) return `< ${before[1]}`
  if (upTo !== null && /\bversions?\b/i.test(upTo[0])) return `<= ${upTo[1]}`
  return undefined
}
