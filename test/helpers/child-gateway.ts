// The production entry (src/main.ts) as a child process, for tests and benchmarks that
// kill it: configured through its environment only, every stdout/stderr line kept (to
// prove report text never reaches the logs), killable with any signal, restartable.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Role } from '../../src/config.js'
import { freePort } from './redis-server.js'

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

export interface ChildRoleOptions {
  /** 'dist' runs the built `node dist/main.js` (benchmarks: no tsx in the numbers); default 'tsx' */
  entry?: 'tsx' | 'dist'
  /** a cgroup directory (test/helpers/cgroup.ts) the process joins before node starts */
  cgroup?: string
  /** called with the child's pid as soon as it is spawned (e.g. to move it into a memory cgroup before it loads anything) */
  onSpawn?: (pid: number) => void
  /** extra node options before the entry (e.g. --cpu-prof for a profile of a bench run) */
  nodeArgs?: string[]
}

/** Starts `node --import tsx src/main.ts <role>` and resolves once it has started. */
export async function startChildRole (role: Role, env: Record<string, string>, logs: string[] = [], opts: ChildRoleOptions = {}): Promise<ChildRole> {
  const port = env.PORT ?? String(await freePort())
  const args = [...(opts.nodeArgs ?? []), ...(opts.entry === 'dist' ? ['dist/main.js', role] : ['--import', 'tsx', 'src/main.ts', role])]
  // tap's process-info hook puts its loader and source maps into every child's
  // NODE_OPTIONS: 40-80 MiB the production process never carries, which a memory test of
  // the built entry must not count. In a cgroup: the shell writes its own pid into the
  // group, then execs node (same pid).
  const unset = opts.entry === 'dist' ? 'unset NODE_OPTIONS; ' : ''
  const join = opts.cgroup === undefined ? '' : `echo $$ > '${opts.cgroup}/cgroup.procs' && `
  const [command, argv] = unset === '' && join === ''
    ? [process.execPath, args]
    : ['/bin/sh', ['-c', `${unset}${join}exec "$0" "$@"`, process.execPath, ...args]]
  const child = spawn(command, argv, {
    cwd: ROOT,
    // Only what it is given: no developer .env or REDIS_URL leaks in.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'test', LOG_LEVEL: 'info', HOST: '127.0.0.1', ...env, PORT: port },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  if (child.pid !== undefined) opts.onSpawn?.(child.pid)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const url = `http://127.0.0.1:${port}`
  // Ready: the worker says so (at info level); the web role answers on its port (it may
  // run at LOG_LEVEL=warn, where Fastify does not log that it listens).
  let worker = role === 'web'
  let web = role === 'worker'
  const started = new Promise<void>((resolve, reject) => {
    const onLine = (line: string) => {
      logs.push(line)
      if (line.includes('"worker started"')) worker = true
    }
    lines(child.stdout, onLine)
    lines(child.stderr, onLine)
    void exited.then((code) => reject(new Error(`${role} exited with ${code} before starting:\n${logs.slice(-20).join('\n')}`)))
    const poll = setInterval(() => {
      if (child.exitCode !== null) { clearInterval(poll); return }
      void (async () => {
        if (!web) web = await portAnswers(Number(port))
        if (web && worker) { clearInterval(poll); resolve() }
      })()
    }, 50)
  })
  await started
  return {
    role,
    child,
    url,
    logs,
    exited,
    async kill (signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    }
  }
}

function portAnswers (port: number): Promise<boolean> {
  return fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) }).then(() => true, () => false)
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
