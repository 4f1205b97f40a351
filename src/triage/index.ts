// Triage: pure functions from report text to findings. No network, no clock, no state:
// the worker feeds them the opened report and decides with what GitHub confirms.
import type { Severity } from '../domain/advisory.js'
import { findCvss, type CvssFindings, type ScoredVector } from './cvss.js'
import { findCweIds } from './cwe.js'
import { findCveIds, findDisclosure, type Disclosure } from './disclosure.js'
import { findLogins, wantsToCollaborate } from './logins.js'
import { findRepoCandidates, type RepoCandidate } from './repos.js'
import type { Routing } from './routing.js'
import { maxSeverity, statedSeverity } from './severity-words.js'
import { findVersions, type VersionFindings } from './versions.js'

export interface TriageInput {
  subject: string
  text: string
  /** Text of inline (text-like) attachments: patches and logs name packages and vectors too. */
  attachmentTexts?: string[]
}

export interface Findings {
  candidates: RepoCandidate[]
  cvss: CvssFindings
  statedSeverity?: Severity
  cweIds: string[]
  cveIds: string[]
  logins: string[]
  wantsCollaboration: boolean
  disclosure: Disclosure
  versions: VersionFindings
}

export function triage (input: TriageInput, ctx: { routing: Routing, owner: string }): Findings {
  // Candidates, vectors and CWE ids may be in an attached write-up; who the reporter is,
  // and what they ask for, only counts in the text they wrote to us.
  const all = [input.text, ...(input.attachmentTexts ?? [])].join('\n')
  const stated = statedSeverity(input.text)
  return {
    candidates: findRepoCandidates({ subject: input.subject, text: all }, ctx.routing, ctx.owner),
    cvss: findCvss(`${input.subject}\n${all}`),
    ...(stated === undefined ? {} : { statedSeverity: stated }),
    cweIds: findCweIds(`${input.subject}\n${all}`),
    cveIds: findCveIds(`${input.subject}\n${input.text}`),
    logins: findLogins(input.text, { owner: ctx.owner }),
    wantsCollaboration: wantsToCollaborate(input.text),
    disclosure: findDisclosure(`${input.subject}\n${input.text}`),
    versions: findVersions(input.text)
  }
}

export interface SeverityDecision {
  /** Goes to `cvss_vector_string` (never together with `severity`). */
  vector?: ScoredVector
  /** Goes to `severity` when there is no valid vector. */
  severity?: Severity
  /** Raised by a public disclosure / exploitation. */
  floor?: Severity
  /** Score under 4.0 (or stated low): SECURITY.md lets the Fix Team slow down. */
  low: boolean
}

/**
 * A valid vector wins (the first one stated); otherwise the stated severity, raised to
 * the disclosure floor: publicly disclosed -> at least high, exploited -> critical.
 * With a vector GitHub derives severity from it, so the floor is only stated in the
 * description.
 */
export function decideSeverity (findings: Pick<Findings, 'cvss' | 'statedSeverity' | 'disclosure'>): SeverityDecision {
  const floor: Severity | undefined = findings.disclosure.exploited ? 'critical' : findings.disclosure.publiclyDisclosed ? 'high' : undefined
  const vector = findings.cvss.valid[0]
  if (vector !== undefined) {
    return { vector, ...(floor === undefined ? {} : { floor }), low: vector.score < 4 && floor === undefined }
  }
  const severity = maxSeverity(findings.statedSeverity, floor)
  return { ...(severity === undefined ? {} : { severity }), ...(floor === undefined ? {} : { floor }), low: severity === 'low' }
}

export type { Routing } from './routing.js'
