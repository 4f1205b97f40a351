// The CLI's Redis connection. A command runs once and exits: when Redis does not answer
// it should say so in one line, not let ioredis reconnect in the background and print
// each failed attempt. The operator learns where it looked (never the URL's password).
import { Redis } from 'ioredis'
import type { Config } from '../config.js'

const CONNECT_TIMEOUT_MS = 5000

export class RedisUnavailableError extends Error {
  constructor (where: string) {
    super(`Redis at ${where} does not answer: start it, or point REDIS_URL at it`)
    this.name = 'RedisUnavailableError'
  }
}

export async function cliRedis (config: Pick<Config, 'redisUrl'>, opts: { timeoutMs?: number } = {}): Promise<Redis> {
  const redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: opts.timeoutMs ?? CONNECT_TIMEOUT_MS,
    retryStrategy: () => null // a failed connection ends the command, not a reconnect loop
  })
  redis.on('error', () => {}) // reported once, below
  try {
    await redis.connect()
  } catch {
    redis.disconnect()
    throw new RedisUnavailableError(hostOf(config.redisUrl))
  }
  return redis
}

function hostOf (url: string): string {
  try {
    const u = new URL(url)
    return `${u.hostname}:${u.port === '' ? '6379' : u.port}`
  } catch {
    return 'REDIS_URL'
  }
}
