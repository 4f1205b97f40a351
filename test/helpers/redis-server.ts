// A dedicated redis-server on a free port, for tests that stop Redis. Append-only with
// fsync on every write, so a SIGKILL loses nothing that was acknowledged and a restart
// on the same directory brings every key back.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { redisAnswers } from '../../src/dev/redis-child.js'

export interface RedisServer {
  url: string
  port: number
  stop: (signal?: NodeJS.Signals) => Promise<void>
  start: () => Promise<void>
  /** stops it and removes its data */
  close: () => Promise<void>
}

/** `persistent: false` (benchmarks): no AOF, nothing written to disk. */
export async function startRedisServer (opts: { persistent?: boolean } = {}): Promise<RedisServer> {
  const persistence = opts.persistent === false ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always']
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'intake-redis-'))
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence], { stdio: 'ignore' })
    for (let i = 0; i < 100; i++) {
      if (await redisAnswers('127.0.0.1', port)) return
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error(`redis-server did not answer on port ${port}`)
  }
  const stop = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const c = child
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return
    const exited = new Promise((resolve) => c.once('exit', resolve))
    c.kill(signal)
    await exited
  }
  await start()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    async close () {
      await stop()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
