// Redis connections. The HTTP path must fail fast when Redis is down (the provider then
// retries on our 503), so it gets no offline queue and short timeouts; BullMQ workers
// need `maxRetriesPerRequest: null` to block and reconnect forever.
import { Redis } from 'ioredis'

export type { Redis }

export function createHttpRedis (url: string): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 5000,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2000)
  })
}

export function createWorkerRedis (url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true })
}
