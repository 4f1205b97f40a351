// Mail the worker keeps out of the advisory path: a provider's spam verdict or a spam
// score above the threshold, a failed DMARC or a virus verdict, and senders over their
// rate. It goes to the quarantine with the reason (an operator can replay it), and no
// acknowledgement is sent: answering spam would make us a backscatter source.
//
// Senders are counted under a keyed hash of the address (key derived from the worker's
// seal key, which Redis never sees), so the counters do not list who wrote to us. One
// mailbox is one sender whatever its case or +tag (x+1@, x+2@ share one budget).
import { createHmac, type KeyObject } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { InboundMeta } from '../domain/inbound.js'
import { headerValue, readHeaderLines } from '../inbound/message-head.js'
import { addressOf } from '../mail/messages.js'
import { mailboxKey } from '../mail/reply-window.js'
import { execAll } from '../store/exec.js'

export interface AbusePolicy {
  spamScoreThreshold: number
  senderRate: { max: number, windowSeconds: number }
}

export interface Held {
  code: 'spam' | 'dmarc-fail' | 'virus' | 'sender-rate'
  reason: string
}

export function abuseCheck (redis: Redis, prefix: string, sealKey: KeyObject, policy: AbusePolicy) {
  const hashKey = createHmac('sha256', Buffer.from(String(sealKey.export({ format: 'jwk' }).d), 'base64url')).update('intake/sender-rate/v1').digest()
  const senderKey = (address: string) => `${prefix}:gw:sender-rate:${createHmac('sha256', hashKey).update(mailboxKey(address)).digest('hex').slice(0, 32)}`

  return async function check (intakeId: string, raw: Buffer, meta: InboundMeta | undefined): Promise<Held | undefined> {
    const v = meta?.verdicts ?? {}
    if (v.spam === true) return { code: 'spam', reason: 'the provider marked it as spam' }
    if (v.spamScore !== undefined && v.spamScore > policy.spamScoreThreshold) return { code: 'spam', reason: `spam score ${v.spamScore} above SPAM_SCORE_THRESHOLD ${policy.spamScoreThreshold}` }
    if (v.dmarc === 'fail') return { code: 'dmarc-fail', reason: 'DMARC failed: the From domain did not authenticate this message' }
    if (v.virus === 'fail') return { code: 'virus', reason: 'the provider\'s virus scan flagged it' }

    const sender = senderOf(raw, meta)
    if (sender === undefined) return undefined
    // One member per intake (NX keeps the first time), so a retried job is not counted
    // twice; its rank among the window's members says whether it was over the rate.
    const key = senderKey(sender)
    const now = Date.now()
    const windowMs = policy.senderRate.windowSeconds * 1000
    // A pipeline, not MULTI: another sender's member landing in between moves no rank.
    const [, , , position] = await execAll(redis.pipeline()
      .zadd(key, 'NX', now, intakeId)
      .zremrangebyscore(key, 0, now - windowMs)
      .pexpire(key, windowMs)
      .zrank(key, intakeId))
    if (typeof position === 'number' && position >= policy.senderRate.max) {
      return { code: 'sender-rate', reason: `sender over SENDER_RATE_LIMIT (${policy.senderRate.max} per ${policy.senderRate.windowSeconds} s)` }
    }
    return undefined
  }
}

export type AbuseCheck = ReturnType<typeof abuseCheck>

/** The envelope sender when the provider gave one, else the From header's address. */
function senderOf (raw: Buffer, meta: InboundMeta | undefined): string | undefined {
  const envelope = meta?.envelope?.from?.trim()
  if (envelope !== undefined && envelope !== '' && envelope !== '<>') return addressOf(envelope)
  const from = headerValue(readHeaderLines(raw), 'from')
  return from === undefined || from === '' ? undefined : addressOf(from.split(',')[0] ?? from)
}
