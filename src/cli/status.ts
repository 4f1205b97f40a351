// `intake status`: what an operator checks first. Queue counts, the failed jobs and why
// (reasons are our own words, never report text), quarantine size, and the published
// key's fingerprint and expiry.
import { Queue } from 'bullmq'
import type { Config } from '../config.js'
import { cliRedis } from './redis.js'
import { QUEUE } from '../queue/jobs.js'
import { quarantineStore } from '../quarantine/store.js'
import { keyExpiry, publishedKey } from './published-key.js'

const SHOWN_FAILURES = 10

export async function statusCommand (config: Config, args: string[], out: (s: string) => void): Promise<number> {
  const json = args.includes('--json')
  const redis = await cliRedis(config)
  const queue = new Queue(QUEUE, { connection: redis, prefix: config.queuePrefix })
  try {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed')
    const paused = await queue.isPaused()
    const failed = (await queue.getFailed(0, SHOWN_FAILURES - 1)).map((j) => ({ id: j.id, intakeId: (j.data as { intakeId?: string }).intakeId, attempts: j.attemptsMade, at: j.finishedOn === undefined ? null : new Date(j.finishedOn).toISOString(), reason: j.failedReason.slice(0, 200) }))
    const quarantined = (await quarantineStore(redis, config.queuePrefix).list()).length
    const key = await publishedKey(config).catch((err: Error) => { out(`(could not read the team key: ${err.message})\n`); return undefined })
    const expires = key === undefined ? undefined : await keyExpiry(key)
    const status = {
      queue: { name: QUEUE, prefix: config.queuePrefix, paused, ...counts },
      failed,
      quarantined,
      key: key === undefined ? null : { fingerprint: key.getFingerprint().toUpperCase(), expires: expires instanceof Date ? expires.toISOString() : 'never', expired: expires instanceof Date && expires.getTime() < Date.now() }
    }
    if (json) { out(JSON.stringify(status, null, 2) + '\n'); return 0 }
    out(`queue ${QUEUE} (prefix ${config.queuePrefix})${paused ? ' PAUSED' : ''}\n`)
    out(`  waiting ${counts.waiting ?? 0}  active ${counts.active ?? 0}  delayed ${counts.delayed ?? 0}  prioritized ${counts.prioritized ?? 0}  failed ${counts.failed ?? 0}  completed ${counts.completed ?? 0}\n`)
    for (const f of failed) out(`  failed ${f.intakeId ?? f.id}  ${f.at ?? ''}  attempts=${f.attempts}  ${f.reason}\n`)
    out(`quarantine: ${quarantined} report(s)${quarantined > 0 ? ' (intake quarantine list)' : ''}\n`)
    if (status.key === null) out('team key: none found (KEYS_DIR has no public key and no PGP key is configured)\n')
    else out(`team key: ${status.key.fingerprint}  expires ${status.key.expires}${status.key.expired ? '  *** EXPIRED ***' : ''}\n`)
    return 0
  } finally {
    await queue.close()
    redis.disconnect()
  }
}
