// The one shape every provider adapter produces: the raw message exactly as the sender's
// server sent it, plus what the provider told us about it. Everything beyond the raw
// bytes travels sealed with them (see src/seal/payload.ts), never in clear in Redis.

type InboundSource = 'raw' | 'mailgun' | 'sendgrid' | 'postmark' | 'ses'

/** The provider's judgement of the message; absent fields were not given. */
export interface Verdicts {
  /** The provider (or a spam filter in its path) flagged it as spam. */
  spam?: boolean
  /** Highest spam score seen (SpamAssassin-like: higher is spammier). */
  spamScore?: number
  spf?: string
  dkim?: string
  dmarc?: string
  virus?: string
}

export interface InboundMeta {
  envelope?: { from?: string, to: string[] }
  verdicts: Verdicts
  /** The provider's own id for the delivery (Postmark MessageID, SES messageId). */
  providerMessageId?: string
  /** The raw bytes were rebuilt from a provider's parsed fields: signatures over MIME cannot be checked. */
  rebuilt?: boolean
  /**
   * The provider reported DMARC pass in a field of its own authenticated request (not a
   * header, which the sender could have written) and nothing said fail: the From domain
   * is authenticated (opens the reserved acknowledgement share).
   */
  dmarcPass?: boolean
}

export interface InboundMessage extends InboundMeta {
  raw: Buffer
  source: InboundSource
}

/** Merges verdicts so that the most suspicious one wins (a sender cannot talk a verdict down). */
export function mergeVerdicts (...all: Verdicts[]): Verdicts {
  const out: Verdicts = {}
  for (const v of all) {
    if (v.spam !== undefined) out.spam = (out.spam ?? false) || v.spam
    if (v.spamScore !== undefined && Number.isFinite(v.spamScore)) out.spamScore = Math.max(out.spamScore ?? -Infinity, v.spamScore)
    for (const k of ['spf', 'dkim', 'dmarc', 'virus'] as const) {
      const value = v[k]
      if (value === undefined) continue
      if (out[k] === undefined || value === 'fail') out[k] = value.slice(0, 32)
    }
  }
  return out
}
