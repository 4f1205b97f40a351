// Spam and authentication verdicts that filters in the delivery path write into the
// message's own header block (Mailgun's X-Mailgun-*, SpamAssassin's X-Spam-*, an
// Authentication-Results line). A sender can write these too, but only ever to its own
// harm: verdicts are merged so the most suspicious wins (see mergeVerdicts).
import { readHeaderLines } from './message-head.js'
import type { Verdicts } from '../domain/inbound.js'

export function verdictsFromHeaders (raw: Buffer): Verdicts {
  return verdictsFromFields(readHeaderLines(raw).map(splitField))
}

export function verdictsFromFields (fields: Array<[string, string]>): Verdicts {
  const v: Verdicts = {}
  for (const [rawName, value] of fields) {
    const name = rawName.toLowerCase()
    const lower = value.toLowerCase().trim()
    if (name === 'x-mailgun-sflag' || name === 'x-spam-flag') {
      if (/^yes\b/.test(lower)) v.spam = true
    } else if (name === 'x-spam-status') {
      if (/^yes\b/.test(lower)) v.spam = true
      const score = /\bscore=(-?\d+(?:\.\d+)?)/.exec(lower)
      if (score?.[1] !== undefined) v.spamScore = Math.max(v.spamScore ?? -Infinity, Number(score[1]))
    } else if (name === 'x-mailgun-sscore' || name === 'x-spam-score') {
      const n = Number(/^-?\d+(?:\.\d+)?/.exec(lower)?.[0])
      if (Number.isFinite(n)) v.spamScore = Math.max(v.spamScore ?? -Infinity, n)
    } else if (name === 'x-mailgun-spf') {
      v.spf = worst(v.spf, lower.split(/\s/)[0] ?? '')
    } else if (name === 'x-mailgun-dkim-check-result') {
      v.dkim = worst(v.dkim, lower.split(/\s/)[0] ?? '')
    } else if (name === 'authentication-results') {
      // Every "method=result" in the line, not just the first: the line quotes
      // sender-chosen text (smtp.mailfrom=dmarc=pass@evil.example, header.i=...) that
      // could otherwise stand in front of the provider's own dmarc=fail.
      for (const method of ['spf', 'dkim', 'dmarc'] as const) {
        for (const m of lower.matchAll(new RegExp(`\\b${method}=([a-z]+)`, 'g'))) {
          if (m[1] !== undefined) v[method] = worst(v[method], m[1])
        }
      }
    }
  }
  return v
}

function worst (current: string | undefined, next: string): string | undefined {
  if (next === '') return current
  return current === 'fail' ? current : next
}

function splitField (line: string): [string, string] {
  const colon = line.indexOf(':')
  return [line.slice(0, colon), line.slice(colon + 1)]
}
