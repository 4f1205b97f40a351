// The real entry point (src/main.ts) as a child process, as operators run it.
import { spawn } from 'node:child_process'

export interface MainProcess {
  code: Promise<number | null>
  output: () => string
  port: Promise<number>
  signal: (sig: NodeJS.Signals) => void
}

export function startMain (args: string[], env: Record<string, string>): MainProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env, ...(process.env.MAIN_LOG_LEVEL !== undefined ? { LOG_LEVEL: process.env.MAIN_LOG_LEVEL } : {}) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  let onPort: (p: number) => void = () => {}
  const port = new Promise<number>((resolve) => { onPort = resolve })
  const take = (d: Buffer) => {
    out += d.toString()
    const m = out.match(/listening at http:\/\/127\.0\.0\.1:(\d+)/)
    if (m) onPort(Number(m[1]))
  }
  child.stdout.on('data', take)
  child.stderr.on('data', take)
  const code = new Promise<number | null>((resolve) => child.on('exit', resolve))
  return { code, output: () => out, port, signal: (sig) => { if (child.exitCode === null) child.kill(sig) } }
}
