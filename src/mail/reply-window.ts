// RFC 3834 section 2: "a responder ... SHOULD NOT send the same response to the same
// sender more often than every few days". This is what stops a loop with a responder
// that ignores Auto-Submitted and threading headers (or two gateways whose mail is
// mangled in between): one Redis key per (kind of reply, sender), taken atomically.
// Acknowledgements are different: each distinct report deserves its own, so they are
// counted instead, up to a small limit per window.
import type { Redis } from 'ioredis'
import { addressHash } from '../pgp/key-store.js'

export interface ReplyWindow {
  /** True when this reply may go out now (and takes the slot); false: already sent within the window. */
  take: (kind: string, address: string) => Promise<boolean>
}

export interface ReplyWindowOptions {
  windowMs: number
  /** Replies of kind 'ack' allowed per sender and window (distinct reports). */
  ackLimit: number
}

export function replyWindow (redis: Redis, prefix: string, opts: ReplyWindowOptions): ReplyWindow {
  const keyOf = (kind: string, address: string) => `${prefix}:gw:replied:${kind.replace(/[^a-z-]/g, '')}:${addressHash(address)}`
  const seconds = Math.max(1, Math.ceil(opts.windowMs / 1000))
  return {
    async take (kind, address) {
      const key = keyOf(kind, address)
      if (kind !== 'ack') return await redis.set(key, '1', 'EX', seconds, 'NX') === 'OK'
      // The window starts with the first acknowledgement (EXPIRE NX) and is not
      // extended by later ones, so a counted sender is free again after it.
      const [[, count] = [], [] = []] = await redis.multi().incr(key).expire(key, seconds, 'NX').exec() ?? []
      return Number(count) <= opts.ackLimit
    }
  }
}
