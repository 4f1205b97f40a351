// Redis connections. The HTTP path must fail fast when Redis is down (the provider then
// retries on our 503), so it gets no offline queue and short timeouts; BullMQ workers
// need `maxRetriesPerRequest: null` to block and reconnect forever.
import { Redis } from 'ioredis'

export type { Redis }

/** `name` shows in CLIENT LIST (which connection is whose, e.g. "intake-web-queue"). */
export function createHttpRedis (url: string, name?: string): Redis {
  return new Redis(url, {
    ...(name === undefined ? {} : { connectionName: name }),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 5000,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2000)
  })
}

export function createWorkerRedis (url: string, name?: string): Redis {
  return new Redis(url, { ...(name === undefined ? {} : { connectionName: name }), maxRetriesPerRequest: null, enableReadyCheck: true })
}
