// A severity the reporter states in words ("Severity: High", "this is critical
// severity"), used only when no valid CVSS vector was given (GitHub takes one or the
// other). Labelled statements win over loose phrases; the first of each kind counts.
import type { Severity } from '../domain/advisory.js'
import { scanned } from './text.js'

const WORD = '(critical|high|medium|moderate|low)'

export function statedSeverity (text: string): Severity | undefined {
  const head = scanned(text)
  const labelled = new RegExp(`\\b(?:severity|impact|risk|priority)(?: rating| level)?\\s*[:=]\\s*\\**\\s*${WORD}\\b`, 'i').exec(head)
  const loose = new RegExp(`\\b${WORD}[- ](?:severity|risk|impact)\\b`, 'i').exec(head)
  const word = (labelled ?? loose)?.[1]?.toLowerCase()
  if (word === undefined) return undefined
  return word === 'moderate' ? 'medium' : word as Severity
}

const RANK: Record<Severity, number> = { low: 1, medium: 2, high: 3, critical: 4 }

export function maxSeverity (a: Severity | undefined, b: Severity | undefined): Severity | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return RANK[a] >= RANK[b] ? a : b
}
