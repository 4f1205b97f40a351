// Dedupe markers: delivery hash -> intake id, so a provider's redelivery of a message
// already accepted is answered with the same id and not queued twice. The web role
// writes them last (inbound/intake.ts), once everything else is stored.
import type { Redis } from 'ioredis'
import { gatewayKeys } from '../queue/jobs.js'

const SEEN_TTL_SECONDS = 90 * 24 * 3600 // longer than any provider retries (SendGrid: 3 days)

export function seenMarkers (redis: Redis, prefix: string) {
  const keys = gatewayKeys(prefix)
  return {
    /** The intake id of an earlier delivery of the same message, or null. */
    get: async (hash: string): Promise<string | null> => await redis.get(keys.seen(hash)),
    remember: async (hash: string, id: string): Promise<void> => { await redis.set(keys.seen(hash), id, 'EX', SEEN_TTL_SECONDS) }
  }
}
