// Development convenience from the contract: when REDIS_URL is unset and nothing
// answers on 127.0.0.1:6379 but redis-server is installed, run one as a child process
// (data under .data/redis, append-only on) and stop it on exit.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { connect } from 'node:net'
import { join, resolve as resolvePath } from 'node:path'

export function redisAnswers (host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (ok: boolean) => { socket.destroy(); resolve(ok) }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.once('data', (d) => done(d.toString().startsWith('+PONG')))
  })
}

export function hasRedisServer (): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0
}

export async function startRedisChild (dataDir: string, port = 6379): Promise<ChildProcess> {
  const dir = resolvePath(join(dataDir, 'redis'))
  mkdirSync(dir, { recursive: true })
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' })
  const stop = () => { if (child.exitCode === null) child.kill('SIGTERM') }
  process.once('exit', stop)
  for (let i = 0; i < 50; i++) {
    if (await redisAnswers('127.0.0.1', port)) return child
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  stop()
  throw new Error('started redis-server but it did not answer on 127.0.0.1:' + port)
}
