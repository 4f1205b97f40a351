// `intake replay-failed [--dry-run]`: failed BullMQ jobs back to waiting, e.g. after an
// outage (GitHub down longer than all retries). Each report's progress record makes
// this safe: a report already filed is not filed twice, a reply already sent is not
// sent again. Quarantined reports are replayed with `quarantine replay <id>`.
import { Queue, type Job } from 'bullmq'
import type { Config } from '../config.js'
import { cliRedis } from './redis.js'
import { QUEUE } from '../queue/jobs.js'
import { quarantineStore } from '../quarantine/store.js'

const PAGE = 100

export async function replayFailedCommand (config: Config, args: string[], out: (s: string) => void): Promise<number> {
  const dryRun = args.includes('--dry-run')
  const redis = await cliRedis(config)
  const queue = new Queue(QUEUE, { connection: redis, prefix: config.queuePrefix })
  const quarantine = quarantineStore(redis, config.queuePrefix)
  try {
    let replayed = 0
    // The failed set as it is now, read before anything moves: re-reading it while
    // replaying would meet again a job that failed anew in the meantime (an unrecoverable
    // error fails at once) and replay it again, as long as a worker keeps failing it.
    for (const job of await failedJobs(queue)) {
      out(`${dryRun ? 'would replay' : 'replayed'} ${(job.data as { intakeId?: string }).intakeId ?? job.id}  (${job.failedReason.slice(0, 120)})\n`)
      if (!dryRun) {
        await job.retry('failed', { resetAttemptsMade: true })
        // Its "failed after N attempts" quarantine entry is moot now; a new final
        // failure records a new one. Entries with other reasons stay.
        const id = (job.data as { intakeId?: string }).intakeId
        const entry = id === undefined ? undefined : await quarantine.get(id)
        if (id !== undefined && entry?.code === 'failed') await quarantine.remove(id)
      }
      replayed++
    }
    out(replayed === 0 ? 'no failed jobs\n' : `${replayed} job(s) ${dryRun ? 'would go' : 'went'} back to waiting\n`)
    return 0
  } finally {
    await queue.close()
    redis.disconnect()
  }
}

async function failedJobs (queue: Queue): Promise<Job[]> {
  const all: Job[] = []
  for (let start = 0; ; start += PAGE) {
    const page = await queue.getFailed(start, start + PAGE - 1)
    all.push(...page)
    if (page.length < PAGE) return all
  }
}
