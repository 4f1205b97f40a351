// Only mail for the intake address (or a configured alias) is taken. A provider route
// usually catches a whole domain or a wildcard; anything else reaching us is dropped
// with the answer that stops that provider retrying, counted, and never queued.
import type { Redis } from 'ioredis'
import { readHeaderLines } from './message-head.js'

// Linear: no nested quantifiers, bounded by the header block.
const ADDRESS = /[^\s<>,;:"()[\]\\]+@[^\s<>,;:"()[\]\\]+/g

export function recipientFilter (ours: string[]) {
  const accepted = new Set(ours.map((a) => a.toLowerCase()))
  // security+anything@ is delivered to security@'s mailbox: a reporter's subaddress is ours too.
  const isOurs = (address: string) => accepted.has(bare(address)) || accepted.has(untagged(bare(address)))
  /** Accepted when any envelope recipient or any To/Cc address is ours. */
  return function addressedToUs (raw: Buffer, envelopeTo: string[] = []): boolean {
    if (envelopeTo.some(isOurs)) return true
    const lines = readHeaderLines(raw)
    const visible = lines.filter((l) => /^(to|cc):/i.test(l)).map((l) => l.slice(3))
    return visible.some((v) => (v.match(ADDRESS) ?? []).some(isOurs))
  }
}

function bare (address: string): string {
  return address.trim().replace(/^<|>$/g, '').toLowerCase()
}

function untagged (address: string): string {
  const at = address.lastIndexOf('@')
  const plus = address.indexOf('+')
  return plus > 0 && plus < at ? address.slice(0, plus) + address.slice(at) : address
}

/** Best effort: a count that fails must not turn a drop into a retry. */
export async function countDropped (redis: Redis, prefix: string, source: string, reason: string): Promise<void> {
  await redis.hincrby(`${prefix}:gw:dropped`, `${source}:${reason}`, 1).catch(() => undefined)
}
