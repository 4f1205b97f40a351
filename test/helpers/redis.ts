// Real Redis for integration tests: each test file gets its own prefix and removes
// every key under it when done.
import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

export function uniquePrefix (name: string): string {
  return `test-${name}-${randomBytes(4).toString('hex')}`
}

export async function keysUnder (redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  return keys
}

export async function dropPrefix (prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL)
  try {
    const keys = await keysUnder(redis, prefix)
    for (let i = 0; i < keys.length; i += 500) await redis.del(...keys.slice(i, i + 500))
  } finally {
    redis.disconnect()
  }
}

/** Every value stored under the prefix, as raw bytes (strings, hashes, lists, sets, zsets, streams). */
export async function dumpValues (redis: Redis, prefix: string): Promise<Buffer[]> {
  const out: Buffer[] = []
  for (const key of await keysUnder(redis, prefix)) {
    out.push(Buffer.from(key))
    const type = await redis.type(key)
    if (type === 'string') out.push((await redis.getBuffer(key)) ?? Buffer.alloc(0))
    else if (type === 'hash') {
      const hash = await redis.hgetallBuffer(key)
      out.push(...Object.keys(hash).map((k) => Buffer.from(k)), ...Object.values(hash))
    }
    else if (type === 'list') out.push(...await redis.lrangeBuffer(key, 0, -1))
    else if (type === 'set') out.push(...await redis.smembersBuffer(key))
    else if (type === 'zset') out.push(...await redis.zrangeBuffer(key, '0', '-1'))
    else if (type === 'stream') out.push(Buffer.from(JSON.stringify(await redis.xrange(key, '-', '+'))))
  }
  return out
}
