// Does a message continue an earlier report? A reply names it in In-Reply-To or
// References (the report's own Message-ID, or our acknowledgement's
// `<ack.<intake id>@<our domain>>`), or its subject quotes the advisory id (GHSA-...)
// or the intake reference `[<intake id>]` our replies carry.

export interface ThreadRefs {
  /** Message-IDs from In-Reply-To then References, `<...>` stripped, lower-cased for lookup. */
  messageIds: string[]
  /** Intake ids named by our own Message-IDs (ack.<id>@domain) or the subject. */
  intakeIds: string[]
  /** GHSA ids in the subject, upper-case prefix as GitHub writes them. */
  ghsaIds: string[]
}

const IDS_MAX = 30
const INTAKE_ID = /^[0-9a-f]{24}$/

export function threadRefs (input: { inReplyTo?: string, references?: string, subject: string, ownDomain: string }): ThreadRefs {
  const messageIds: string[] = []
  const intakeIds: string[] = []
  const domain = input.ownDomain.toLowerCase()
  for (const value of [input.inReplyTo ?? '', input.references ?? '']) {
    for (const m of value.slice(0, 16_384).matchAll(/<([^<>\s]{1,250})>/g)) {
      const id = (m[1] ?? '').toLowerCase()
      if (!messageIds.includes(id)) messageIds.push(id)
      const own = /^(?:ack|undecryptable)\.([0-9a-f]{24})@(.+)$/.exec(id)
      if (own !== null && own[2] === domain && !intakeIds.includes(own[1] as string)) intakeIds.push(own[1] as string)
    }
  }
  const subject = input.subject.slice(0, 1000)
  for (const m of subject.matchAll(/\[([0-9a-f]{24})\]/gi)) {
    const id = (m[1] ?? '').toLowerCase()
    if (INTAKE_ID.test(id) && !intakeIds.includes(id)) intakeIds.push(id)
  }
  const ghsaIds = [...new Set([...subject.matchAll(/\bGHSA(-[23456789cfghjmpqrvwx]{4}){3}\b/gi)].map((m) => `GHSA${m[0].slice(4).toLowerCase()}`))]
  return { messageIds: messageIds.slice(0, IDS_MAX), intakeIds: intakeIds.slice(0, IDS_MAX), ghsaIds: ghsaIds.slice(0, 5) }
}
