// `intake export <id> <file>`: the original message of any report still sealed in
// Redis (processed or quarantined), exactly as the reporter sent it — so still
// encrypted if it was — for attachments and anything the advisory leaves out.
import { writeFileSync } from 'node:fs'
import type { Redis } from 'ioredis'
import type { Config } from '../config.js'
import { cliRedis } from './redis.js'
import { gatewayKeys } from '../queue/jobs.js'
import { open } from '../seal/hpke.js'
import { sealPrivateKey } from '../seal/keys.js'
import { unpackPayload } from '../seal/payload.js'

export async function exportSealed (config: Config, redis: Redis, id: string, file: string, out: (s: string) => void): Promise<number> {
  const sealed = await redis.getBuffer(gatewayKeys(config.queuePrefix).sealed(id))
  if (sealed === null) { out(`no sealed message for ${id} (unknown id, or past SEALED_TTL_DAYS)\n`); return 1 }
  writeFileSync(file, unpackPayload(open(sealPrivateKey(config), sealed, id)).raw, { mode: 0o600, flag: 'wx' })
  out(`original message written to ${file} (mode 0600); delete it when done\n`)
  return 0
}

export async function exportCommand (config: Config, args: string[], out: (s: string) => void): Promise<number> {
  const [id, file] = args
  if (id === undefined || file === undefined) { out('usage: export <intake id> <file>\n'); return 2 }
  const redis = await cliRedis(config)
  try {
    return await exportSealed(config, redis, id, file, out)
  } finally {
    redis.disconnect()
  }
}
