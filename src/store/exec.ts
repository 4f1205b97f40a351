// One round trip for several commands. A pipeline (unlike MULTI, which costs two more
// commands) reports a failed command in its results instead of rejecting: a progress
// write that Redis refused (OOM under noeviction, a lost connection) must fail the step,
// never pass for recorded.
import { createHash } from 'node:crypto'
import type { ChainableCommander, Redis } from 'ioredis'

/** A command as data ([name, ...args]), for a caller to add to another module's round trip. */
export type RedisCommand = [name: string, ...args: Array<string | number>]

/** `commands` added to `pipeline`, for one round trip with the caller's own. */
export function withCommands (pipeline: ChainableCommander, commands: readonly RedisCommand[]): ChainableCommander {
  for (const [name, ...args] of commands) pipeline.call(name, ...args)
  return pipeline
}

export async function execAll (pipeline: ChainableCommander): Promise<unknown[]> {
  const results = await pipeline.exec()
  if (results === null) throw new Error('redis: the pipeline was discarded')
  for (const [err] of results) if (err !== null) throw err
  return results.map(([, value]) => value)
}

/**
 * A Lua script run by its SHA-1 (EVALSHA), its text sent only when Redis does not have it
 * yet (NOSCRIPT: a restart, SCRIPT FLUSH), which loads it for the next call.
 */
export function luaScript (lua: string): (redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number>) => Promise<unknown> {
  const sha = createHash('sha1').update(lua).digest('hex')
  return async (redis, keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args)
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err
      return await redis.eval(lua, keys.length, ...keys, ...args)
    }
  }
}
