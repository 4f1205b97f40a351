// Each SNS MessageId is taken once. A signed SNS post stays valid for the whole Timestamp
// window, so whoever captured one (a log, a proxy) could post it again; the intake's own
// redelivery marker would catch the same mail only until it expires (90 days). The first
// post claims the id; its final 2xx answer is stored and every later post of that id gets
// the same answer with nothing done (SNS must not retry it). A post whose answer is not
// 2xx releases the claim, so SNS's own retry after a 503 goes through.
import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { gatewayKeys } from '../queue/jobs.js'
import { SNS_MAX_AGE_MS, SNS_MAX_AHEAD_MS } from './sns-verify.js'

/** Longer than any Timestamp stays acceptable (window past + ahead), with margin. */
const SNS_SEEN_TTL_SECONDS = Math.ceil((SNS_MAX_AGE_MS + SNS_MAX_AHEAD_MS) / 1000) + 3600
/**
 * A claim whose request never answered (process killed) is free again after this: well
 * within SNS's default retries (about every 20 s for a minute), so a retry gets through.
 */
const PENDING_TTL_SECONDS = 15
const PENDING = 'pending'
const MAX_STORED_ANSWER = 1024

export interface SnsAnswer { status: number, body: string }
export type SnsClaim = { first: true } | { first: false, answer?: SnsAnswer }

export function snsOnce (redis: Redis, prefix: string) {
  const keys = gatewayKeys(prefix)
  const key = (messageId: string) => keys.snsMessage(createHash('sha256').update(messageId).digest('hex').slice(0, 40))
  return {
    /** first: this post handles the message; otherwise the stored answer, or none while the first is in flight. */
    async claim (messageId: string): Promise<SnsClaim> {
      if (await redis.set(key(messageId), PENDING, 'EX', PENDING_TTL_SECONDS, 'NX') === 'OK') return { first: true }
      const stored = await redis.get(key(messageId))
      if (stored === null || stored === PENDING) return { first: false }
      return { first: false, answer: JSON.parse(stored) as SnsAnswer }
    },
    /** The first post's answer: kept when final (2xx), the claim released otherwise. */
    async settle (messageId: string, answer: SnsAnswer): Promise<void> {
      if (answer.status >= 200 && answer.status < 300 && answer.body.length <= MAX_STORED_ANSWER) {
        await redis.set(key(messageId), JSON.stringify(answer), 'EX', SNS_SEEN_TTL_SECONDS)
      } else {
        await redis.del(key(messageId))
      }
    }
  }
}
