// `intake attachment <id> <n> [file]`: one attachment of a sealed report, decrypted, as
// the advisory lists it (#n, with its SHA-256). The CLI runs with the worker's keys
// (SEAL_PRIVATE_KEY, the PGP key): it opens the sealed original exactly as the worker
// did, so an encrypted attachment comes out in the clear. Written 0600, never over an
// existing file; the advisory's digest is printed to compare.
import { writeFileSync } from 'node:fs'
import { basename } from 'node:path'
import type { Redis } from 'ioredis'
import type { Config } from '../config.js'
import { cliRedis } from './redis.js'
import { createLogger } from '../log.js'
import { openReport } from '../mail/open-report.js'
import { loadWorkerKeyring } from '../pgp/team-key.js'
import type { TeamKeyring } from '../pgp/types.js'
import { gatewayKeys } from '../queue/jobs.js'
import { open } from '../seal/hpke.js'
import { sealPrivateKey } from '../seal/keys.js'
import { unpackPayload } from '../seal/payload.js'

export async function writeAttachment (config: Config, redis: Redis, keyring: TeamKeyring, args: { id: string, n: number, file?: string }, out: (s: string) => void): Promise<number> {
  const sealed = await redis.getBuffer(gatewayKeys(config.queuePrefix).sealed(args.id))
  if (sealed === null) { out(`no sealed message for ${args.id} (unknown id, or past SEALED_TTL_DAYS)\n`); return 1 }
  const report = await openReport(unpackPayload(open(sealPrivateKey(config), sealed, args.id)).raw, { keyring })
  const attachment = report.attachments[args.n - 1]
  if (attachment === undefined) { out(`report ${args.id} has ${report.attachments.length} attachment(s); #${args.n} does not exist\n`); return 1 }
  // The attachment's own name is the sender's: only its last segment, only safe characters.
  const safeName = basename(attachment.filename).replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '').slice(0, 80) || 'attachment'
  const file = args.file ?? `${args.id}-${args.n}-${safeName}`
  writeFileSync(file, attachment.content, { mode: 0o600, flag: 'wx' })
  out(`attachment #${args.n} (${attachment.size} bytes, SHA-256 ${attachment.sha256}) written to ${file} (mode 0600); delete it when done\n`)
  return 0
}

export async function attachmentCommand (config: Config, args: string[], out: (s: string) => void): Promise<number> {
  const [id, nText, file] = args
  const n = Number(nText)
  if (id === undefined || !Number.isInteger(n) || n < 1) { out('usage: attachment <intake id> <n> [file]   (n as listed in the advisory, from 1)\n'); return 2 }
  const log = createLogger({ level: 'warn', production: config.production })
  const keyring = await loadWorkerKeyring(config, log)
  const redis = await cliRedis(config)
  try {
    return await writeAttachment(config, redis, keyring, { id, n, ...(file === undefined ? {} : { file }) }, out)
  } finally {
    redis.disconnect()
  }
}
