// CVSS vectors stated in a report. The calculator (ae-cvss-calculator, FIRST's formulas
// for 3.0, 3.1 and 4.0) scores a vector, but it is lenient: it fills missing metrics
// with X and lets a repeated metric overwrite the first. GitHub is not, so the grammar
// is checked here first: the version prefix, every base metric exactly once, in the
// specification's order, with a defined value. Only then does the calculator score it
// (and refuse unknown metrics or values).
import calculator from 'ae-cvss-calculator'
import type { Severity } from '../domain/advisory.js'
import { scanned, unique } from './text.js'

type CvssVersion = '3.0' | '3.1' | '4.0'

export interface ScoredVector {
  vector: string
  version: CvssVersion
  score: number
  /** FIRST's qualitative rating; 'none' for 0.0. */
  band: Severity | 'none'
}

export interface InvalidVector {
  /** What the report wrote (one line, capped). */
  vector: string
  reason: string
}

export interface CvssFindings {
  valid: ScoredVector[]
  invalid: InvalidVector[]
}

const { Cvss3P0, Cvss3P1, Cvss4P0 } = calculator as unknown as Record<string, new (vector: string) => { calculateScores: () => { overall?: number, base?: number } }>

const BASE: Record<CvssVersion, string[]> = {
  '3.0': ['AV', 'AC', 'PR', 'UI', 'S', 'C', 'I', 'A'],
  3.1: ['AV', 'AC', 'PR', 'UI', 'S', 'C', 'I', 'A'],
  '4.0': ['AV', 'AC', 'AT', 'PR', 'UI', 'VC', 'VI', 'VA', 'SC', 'SI', 'SA']
}

const VECTOR_MAX = 400
const VECTORS_MAX = 5

/** Every `CVSS:x.y/...` token in the text, each validated and scored. */
export function findCvss (text: string): CvssFindings {
  const tokens = unique(scanned(text).match(/CVSS:\d+(?:\.\d+)?\/[A-Za-z0-9:/._-]{0,400}/gi) ?? [], VECTORS_MAX * 2)
  const valid: ScoredVector[] = []
  const invalid: InvalidVector[] = []
  for (const token of tokens) {
    const result = scoreVector(token.replace(/[._-]+$/, ''))
    if ('reason' in result) invalid.push(result)
    else valid.push(result)
  }
  return { valid: unique(valid, VECTORS_MAX, (v) => v.vector), invalid: invalid.slice(0, VECTORS_MAX) }
}

export function scoreVector (raw: string): ScoredVector | InvalidVector {
  const vector = raw.slice(0, VECTOR_MAX)
  const bad = (reason: string): InvalidVector => ({ vector, reason })
  const m = /^CVSS:(\d+\.\d+)\/(.*)$/.exec(vector)
  if (m === null) return bad('not a CVSS:<version>/... vector')
  const version = m[1] as CvssVersion
  const base = BASE[version]
  if (base === undefined) return bad(`unsupported CVSS version ${version.slice(0, 8)} (3.0, 3.1 and 4.0 are)`)
  const metrics = (m[2] ?? '').split('/')
  const seen = new Set<string>()
  for (const metric of metrics) {
    const [name = '', value, extra] = metric.split(':')
    if (!/^[A-Z]{1,3}$/.test(name) || value === undefined || extra !== undefined || !/^[A-Z]$/.test(value)) return bad(`malformed metric ${metric.slice(0, 20)}`)
    if (seen.has(name)) return bad(`metric ${name} appears twice`)
    seen.add(name)
  }
  const names = metrics.map((metric) => metric.split(':')[0])
  for (const [i, name] of base.entries()) {
    if (names[i] !== name) return bad(`base metric ${name} missing or out of order`)
    if (metrics[i]?.endsWith(':X')) return bad(`base metric ${name} must not be X (not defined)`)
  }
  const Calculator = version === '4.0' ? Cvss4P0 : version === '3.1' ? Cvss3P1 : Cvss3P0
  if (Calculator === undefined) return bad('no calculator for this version')
  let score: number
  try {
    const scores = new Calculator(vector).calculateScores()
    score = scores.base ?? scores.overall ?? NaN
  } catch (err) {
    // The calculator's messages name our metric and value only (no report text).
    return bad(String((err as Error).message).slice(0, 100))
  }
  if (!Number.isFinite(score) || score < 0 || score > 10) return bad('the calculator gave no score')
  return { vector, version, score, band: band(score) }
}

/** FIRST's qualitative severity rating scale (the same for 3.x and 4.0). */
export function band (score: number): Severity | 'none' {
  if (score === 0) return 'none'
  if (score < 4) return 'low'
  if (score < 7) return 'medium'
  if (score < 9) return 'high'
  return 'critical'
}
