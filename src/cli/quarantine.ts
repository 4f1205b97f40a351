// `intake quarantine list|show|replay`: see and replay what the worker could not process.
import { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Config } from '../config.js'
import { cliRedis } from './redis.js'
import { quarantineStore } from '../quarantine/store.js'
import { QUEUE, gatewayKeys, jobOptions, type JobMap } from '../queue/jobs.js'
import { exportSealed } from './export.js'

export async function quarantineCommand (config: Config, args: string[], out: (s: string) => void): Promise<number> {
  const [sub, id, ...flags] = args
  const redis = await cliRedis(config)
  const store = quarantineStore(redis, config.queuePrefix)
  try {
    if (sub === 'list') return await list(store, out)
    if (sub === 'show' && id !== undefined) return await show(config, redis, store, id, flags, out)
    if (sub === 'replay' && id !== undefined) return await replay(config, redis, store, id, out)
    out('usage: quarantine list | show <id> [--export FILE] | replay <id>\n')
    return 2
  } finally {
    redis.disconnect()
  }
}

async function list (store: ReturnType<typeof quarantineStore>, out: (s: string) => void): Promise<number> {
  const entries = await store.list()
  if (entries.length === 0) { out('quarantine is empty\n'); return 0 }
  for (const e of entries) out(`${e.intakeId}  ${e.at}  ${e.code.padEnd(18)} replays=${e.replays}  ${e.reason}\n`)
  return 0
}

async function show (config: Config, redis: Redis, store: ReturnType<typeof quarantineStore>, id: string, flags: string[], out: (s: string) => void): Promise<number> {
  const entry = await store.get(id)
  if (entry === undefined) { out(`no quarantined report ${id}\n`); return 1 }
  const sealed = await redis.getBuffer(gatewayKeys(config.queuePrefix).sealed(id))
  out(JSON.stringify({ ...entry, sealedBytes: sealed?.length ?? null }, null, 2) + '\n')
  const exportAt = flags.indexOf('--export')
  if (exportAt !== -1) {
    const file = flags[exportAt + 1]
    if (file === undefined) { out('usage: quarantine show <id> --export FILE\n'); return 2 }
    return await exportSealed(config, redis, id, file, out)
  }
  return 0
}

async function replay (config: Config, redis: Redis, store: ReturnType<typeof quarantineStore>, id: string, out: (s: string) => void): Promise<number> {
  const entry = await store.get(id)
  if (entry === undefined) { out(`no quarantined report ${id}\n`); return 1 }
  if (await redis.exists(gatewayKeys(config.queuePrefix).sealed(id)) === 0) { out(`the sealed message of ${id} is gone; cannot replay\n`); return 1 }
  const n = await store.countReplay(id)
  const queue = new Queue<JobMap['process-report']>(QUEUE, { connection: redis, prefix: config.queuePrefix })
  try {
    // A fresh job id per replay: the failed original may still be kept by BullMQ.
    await queue.add('process-report', { intakeId: id, receivedAt: entry.at, source: entry.source, replay: n }, { ...jobOptions(config), jobId: `${id}-replay-${n}` })
  } finally {
    await queue.close()
  }
  out(`replay ${n} of ${id} queued\n`)
  return 0
}
