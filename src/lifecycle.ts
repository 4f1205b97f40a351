// What both roles do to stop: close in order on SIGTERM/SIGINT, within a hard deadline,
// and let each Redis connection go last with QUIT.
import type { Redis } from 'ioredis'
import type { Logger } from './log.js'

/** QUIT lets replies already on the wire arrive; a dead connection is simply dropped. */
export async function quit (redis: Redis): Promise<void> {
  if (redis.status === 'end') return
  try {
    await Promise.race([redis.quit(), new Promise((resolve) => setTimeout(resolve, 1000).unref())])
  } catch {}
  redis.disconnect()
}

/**
 * Runs `closers` in order on the first SIGTERM or SIGINT, then exits 0; exits 1 when they
 * have not finished by `hardDeadlineMs`. The order is the caller's: stop taking requests
 * first, then let running jobs finish, each role closing its Redis connections last.
 */
export function handleSignals (log: Logger, closers: Array<() => Promise<void>>, hardDeadlineMs: number): void {
  let closing = false
  const shutdown = async (signal: string) => {
    if (closing) return
    closing = true
    log.info({ signal }, 'shutting down')
    const deadline = setTimeout(() => { log.error('shutdown deadline passed, exiting'); process.exit(1) }, hardDeadlineMs)
    deadline.unref()
    for (const close of closers) {
      log.debug({ step: close.name }, 'shutdown step')
      try { await close() } catch (err) { log.error({ err: { message: (err as Error).message } }, 'error while closing') }
    }
    log.info('shut down cleanly')
    log.flush()
    process.exit(0)
  }
  // shutdown() catches every closer's error itself and always ends in process.exit().
  process.on('SIGTERM', () => { shutdown('SIGTERM').catch(() => process.exit(1)) })
  process.on('SIGINT', () => { shutdown('SIGINT').catch(() => process.exit(1)) })
}
