// replay-failed replays each job that was failed when it started, once: a job a running
// worker fails again at once (an unrecoverable error) is not picked up a second time.
import t from 'tap'
import { Queue, UnrecoverableError, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'
import { testConfig } from '../helpers/config.js'
import { QUEUE } from '../../src/queue/jobs.js'
import { replayFailedCommand } from '../../src/cli/replay-failed.js'

const JOBS = 150 // more than one page of the failed set

t.test('a job failing again during the replay is replayed once', { timeout: 30_000 }, async (t) => {
  const prefix = uniquePrefix('replayonce')
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null })
  const queue = new Queue(QUEUE, { connection, prefix })
  const workerConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null })
  const runs = new Map<string, number>()
  const worker = new Worker(QUEUE, async (job) => {
    runs.set(job.data.intakeId, (runs.get(job.data.intakeId) ?? 0) + 1)
    throw new UnrecoverableError('still broken')
  }, { connection: workerConnection, prefix, concurrency: 50 })
  t.teardown(async () => {
    await worker.close()
    await queue.close()
    connection.disconnect()
    workerConnection.disconnect()
    await dropPrefix(prefix)
  })
  await queue.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: 'process-report', data: { intakeId: `job-${i}` }, opts: { attempts: 1 } })))
  while (((await queue.getJobCounts('failed')).failed ?? 0) < JOBS) await new Promise((resolve) => setTimeout(resolve, 20))

  let text = ''
  const code = await replayFailedCommand(testConfig({ QUEUE_PREFIX: prefix }), [], (s) => { text += s })
  t.equal(code, 0)
  t.match(text, `${JOBS} job(s) went back to waiting`)
  t.equal(text.split('\n').filter((l) => l.startsWith('replayed ')).length, JOBS, 'one line per job')
  while (((await queue.getJobCounts('failed')).failed ?? 0) < JOBS) await new Promise((resolve) => setTimeout(resolve, 20))
  t.same([...new Set(runs.values())], [2], 'every job ran twice: once before, once replayed')
})
