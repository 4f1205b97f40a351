// Message-ID -> intake id, so replies find the report they answer. Keys hold the
// SHA-256 of the Message-ID (a Message-ID can carry a name or an address), values the
// intake id. The web role writes the first mapping at intake (a reply can overtake its
// report); the worker maps each follow-up's own Message-ID to the thread's first report.
import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import { execAll, withCommands, type RedisCommand } from './exec.js'
import { STATE_TTL_SECONDS as TTL_SECONDS } from './retention.js'

export function threadIndex (redis: Redis, prefix: string) {
  const key = (messageId: string): string => `${prefix}:gw:thread:${createHash('sha256').update(`message-id\0${messageId.trim().replace(/^<|>$/g, '').toLowerCase()}`).digest('hex')}`
  const ghsaKey = (ghsa: string): string => `${prefix}:gw:ghsa:${ghsa.toLowerCase()}`
  return {
    /**
     * Message-ID (of a follow-up) -> the root intake id, unless the Message-ID is taken.
     * Never replaces: a sender picks its own Message-ID, and one that reused another
     * report's would otherwise redirect that reporter's later replies to its advisory.
     * (A follow-up's own mapping, written at intake, resolves through its followUpOf.)
     */
    async remember (messageId: string | undefined, rootIntakeId: string): Promise<void> {
      if (messageId === undefined || messageId.length > 1000) return
      await redis.set(key(messageId), rootIntakeId, 'EX', TTL_SECONDS, 'NX')
    },
    /** The first message with this Message-ID keeps it (the web role writes it at intake, in its own pipeline). */
    async rememberFirst (messageId: string | undefined, intakeId: string): Promise<void> {
      const commands = this.rememberFirstCommands(messageId, intakeId)
      if (commands.length > 0) await execAll(withCommands(redis.pipeline(), commands))
    },
    /** rememberFirst as commands, for the worker's progress write to carry (no round trip of its own). */
    rememberFirstCommands (messageId: string | undefined, intakeId: string): RedisCommand[] {
      if (messageId === undefined || messageId.length > 1000) return []
      return [['set', key(messageId), intakeId, 'EX', TTL_SECONDS, 'NX']]
    },
    /** GHSA id -> the report's intake id (GitHub's webhooks name the advisory), as commands to carry. */
    rememberAdvisoryCommands (ghsaId: string, rootIntakeId: string): RedisCommand[] {
      return [['set', ghsaKey(ghsaId), rootIntakeId, 'EX', TTL_SECONDS]]
    },
    async byMessageId (messageId: string): Promise<string | null> {
      return await redis.get(key(messageId))
    },
    async byGhsa (ghsaId: string): Promise<string | null> {
      return await redis.get(ghsaKey(ghsaId))
    }
  }
}

export type ThreadIndex = ReturnType<typeof threadIndex>
