// RFC 3834 section 2: "a responder ... SHOULD NOT send the same response to the same
// sender more often than every few days". This is what stops a loop with a responder
// that ignores Auto-Submitted and threading headers (or two gateways whose mail is
// mangled in between): one Redis key per (kind of reply, inbox), taken atomically.
// Acknowledgements are different: each distinct report deserves its own, so they are
// counted instead, up to a small limit per window.
// From is not authenticated, so a stranger can point these replies at anyone: besides
// the per-inbox window, all automatic replies together are capped per hour, and the
// inbox ignores case and `+tag`s (`x+1@`, `x+2@` are one victim, not two). A share of
// the hourly cap is reserved for authenticated senders, so a flood of forged ones cannot
// use it all and leave genuine reporters without an acknowledgement.
import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { normalizeAddress } from '../pgp/key-store.js'
import { luaScript } from '../store/exec.js'

export interface ReplyWindow {
  /**
   * Undefined when this reply may go out now (and takes the slot), else why not.
   * `authenticated`: the sender is proven (DMARC pass from the provider, or a signature
   * by a key on record), so the reserved share of the hourly cap is open to it.
   */
  take: (kind: string, address: string, authenticated?: boolean) => Promise<string | undefined>
}

export interface ReplyWindowOptions {
  windowMs: number
  /** Replies of kind 'ack' allowed per sender and window (distinct reports). */
  ackLimit: number
  /** Windowed replies to anyone, per clock hour. */
  maxPerHour: number
  /** Percent of maxPerHour only authenticated senders may use (default RESERVED_PERCENT). */
  reservedPercent?: number
  now?: () => number
}

/** Share of AUTO_REPLY_MAX_PER_HOUR kept for authenticated senders, unless configured. */
const RESERVED_PERCENT = 25

export function replyWindow (redis: Redis, prefix: string, opts: ReplyWindowOptions): ReplyWindow {
  const keyOf = (kind: string, address: string) => `${prefix}:gw:replied:${kind.replace(/[^a-z-]/g, '')}:${inboxHash(address)}`
  const seconds = Math.max(1, Math.ceil(opts.windowMs / 1000))
  const unauthenticatedMax = opts.maxPerHour - Math.floor(opts.maxPerHour * (opts.reservedPercent ?? RESERVED_PERCENT) / 100)
  return {
    async take (kind, address, authenticated = false) {
      const hour = Math.floor((opts.now?.() ?? Date.now()) / 3_600_000)
      const refused = await takeSlot(redis, [keyOf(kind, address), `${prefix}:gw:replied-hour:${hour}`], [kind === 'ack' ? 'count' : 'once', opts.ackLimit, seconds, authenticated ? opts.maxPerHour : unauthenticatedMax])
      if (refused === 1) return 'this sender had the same kind of reply within the window (RFC 3834)'
      if (refused === 2) {
        return authenticated || unauthenticatedMax === opts.maxPerHour ? 'hourly limit of automatic replies reached' : 'hourly limit of automatic replies to unauthenticated senders reached (the rest is kept for authenticated ones)'
      }
      return undefined
    }
  }
}

/**
 * The inbox's slot, then the hour's, in one step: 0 taken, 1 the inbox had its reply
 * (acknowledgements: its count) within the window, 2 the hour is full (its count given
 * back; the inbox's slot stays taken, as a reply refused now is not sent later).
 */
const takeSlot = luaScript(`
if ARGV[1] == 'count' then
  local n = redis.call('INCR', KEYS[1])
  if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
  if n > tonumber(ARGV[2]) then return 1 end
elseif not redis.call('SET', KEYS[1], '1', 'EX', ARGV[3], 'NX') then
  return 1
end
local c = redis.call('INCR', KEYS[2])
if c == 1 then redis.call('EXPIRE', KEYS[2], 7200) end
if c > tonumber(ARGV[4]) then
  redis.call('DECR', KEYS[2])
  return 2
end
return 0
`)

/** One mailbox however it is spelled: `Alice+x@Example.NET` and `alice@example.net` are the same inbox. */
export function mailboxKey (address: string): string {
  const normal = normalizeAddress(address)
  const at = normal.lastIndexOf('@')
  if (at <= 0) return normal
  const local = normal.slice(0, at).split('+', 1)[0] ?? ''
  return `${local === '' ? normal.slice(0, at) : local}@${normal.slice(at + 1)}`
}

export function inboxHash (address: string): string {
  return createHash('sha256').update(mailboxKey(address)).digest('hex')
}
