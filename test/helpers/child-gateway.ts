// The production entry (src/main.ts) as a child process, for tests and benchmarks that
// kill it: configured through its environment only, every stdout/stderr line kept (to
// prove report text never reaches the logs), killable with any signal, restartable.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Role } from '../../src/config.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface ChildRole {
  role: Role
  child: ChildProcess
  /** http://127.0.0.1:<port> once a web role listens */
  url: string
  /** every line the process wrote (stdout and stderr) */
  logs: string[]
  exited: Promise<number | null>
  kill: (signal?: NodeJS.Signals) => Promise<void>
}

/** Starts `node --import tsx src/main.ts <role>` and resolves once it has started. */
export async function startChildRole (role: Role, env: Record<string, string>, logs: string[] = []): Promise<ChildRole> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', role], {
    cwd: ROOT,
    // Only what it is given: no developer .env or REDIS_URL leaks in.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let url = ''
  const started = new Promise<void>((resolve, reject) => {
    let web = role === 'worker'
    let worker = role === 'web'
    const onLine = (line: string) => {
      logs.push(line)
      const listening = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1]
      if (listening !== undefined) { url = listening; web = true }
      if (line.includes('"worker started"')) worker = true
      if (web && worker) resolve()
    }
    lines(child.stdout, onLine)
    lines(child.stderr, onLine)
    void exited.then((code) => reject(new Error(`${role} exited with ${code} before starting:\n${logs.slice(-20).join('\n')}`)))
  })
  await started
  return {
    role,
    child,
    get url () { return url },
    logs,
    exited,
    async kill (signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    }
  }
}

function lines (stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  let rest = ''
  stream?.setEncoding('utf8')
  stream?.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n')
    rest = parts.pop() ?? ''
    for (const p of parts) onLine(p)
  })
  stream?.on('end', () => { if (rest !== '') onLine(rest) })
}
