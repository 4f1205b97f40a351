// BullMQ keeps queued reports in Redis only: an evicting Redis can drop a job, and one
// without persistence loses every queued report on restart, after we answered 200.
// Checked once at start; production gets a loud warning (not a refusal: managed Redis
// services often hide their configuration, and we cannot always tell).
import { Redis } from 'ioredis'
import type { Config } from '../config.js'
import type { Logger } from '../log.js'

export interface RedisSafety {
  maxmemoryPolicy?: string
  aof?: boolean
  rdb?: boolean
  problems: string[]
}

export async function inspectRedis (redis: Redis): Promise<RedisSafety> {
  const config = await configGet(redis, ['maxmemory-policy', 'appendonly', 'save'])
  const info = config === undefined ? parseInfo(await redis.info('memory') + '\n' + await redis.info('persistence')) : undefined
  const maxmemoryPolicy = config?.['maxmemory-policy'] ?? info?.maxmemory_policy
  const aofText = config?.appendonly ?? (info?.aof_enabled === undefined ? undefined : info.aof_enabled === '1' ? 'yes' : 'no')
  const aof = aofText === undefined ? undefined : aofText === 'yes'
  // INFO does not say whether RDB snapshots are scheduled; CONFIG GET save does ('' = off).
  const rdb = config?.save === undefined ? undefined : config.save.trim() !== ''
  const problems: string[] = []
  if (maxmemoryPolicy !== undefined && maxmemoryPolicy !== 'noeviction') problems.push(`maxmemory-policy is ${maxmemoryPolicy}: Redis may evict queued reports (set noeviction)`)
  if (aof === false && rdb !== true) problems.push('persistence is off (no AOF, no RDB): queued reports are lost when Redis restarts (set appendonly yes)')
  if (maxmemoryPolicy === undefined || aof === undefined) problems.push('could not read maxmemory-policy / persistence (CONFIG and INFO refused): make sure the provider runs noeviction with persistence on')
  return { ...(maxmemoryPolicy !== undefined ? { maxmemoryPolicy } : {}), ...(aof !== undefined ? { aof } : {}), ...(rdb !== undefined ? { rdb } : {}), problems }
}

/** Logs what is unsafe: loudly (error level, one line per problem) in production. */
export async function warnUnsafeRedis (redis: Redis, log: Logger, production: boolean): Promise<RedisSafety | undefined> {
  let safety: RedisSafety
  try {
    safety = await inspectRedis(redis)
  } catch (err) {
    log.warn({ err: { message: (err as Error).message } }, 'could not inspect Redis settings')
    return undefined
  }
  for (const problem of safety.problems) {
    if (production) log.error({ redis: safety }, `*** REDIS UNSAFE FOR PRODUCTION: ${problem} ***`)
    else log.info({ redis: safety }, `redis (fine for development): ${problem}`)
  }
  return safety
}

async function configGet (redis: Redis, names: string[]): Promise<Record<string, string> | undefined> {
  try {
    const out: Record<string, string> = {}
    for (const name of names) {
      const pair = await redis.config('GET', name) as string[]
      if (pair.length >= 2) out[pair[0] as string] = pair[1] as string
    }
    return out
  } catch {
    return undefined // CONFIG disabled or renamed (managed Redis)
  }
}

function parseInfo (text: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(':')
    if (at > 0 && !line.startsWith('#')) out[line.slice(0, at)] = line.slice(at + 1).trim()
  }
  return out
}

/** maxmemory-policy and persistence: loud in production, a note in development. */
export async function checkRedisAtStart (config: Pick<Config, 'redisUrl' | 'production'>, log: Logger): Promise<void> {
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 3000, lazyConnect: true })
  redis.on('error', () => {})
  try {
    await redis.connect()
    await warnUnsafeRedis(redis, log, config.production)
  } catch (err) {
    log.warn({ err: { message: (err as Error).message } }, 'redis not reachable at start; inbound answers 503 until it is')
  } finally {
    redis.disconnect()
  }
}
