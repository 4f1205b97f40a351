// Runs a child process under a real memory limit (cgroup v1 memory controller): what a
// container's limit does to the worker. Needs root and the controller; callers skip
// with `memoryLimitUnavailable()`'s reason otherwise.
import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises'

const root = '/sys/fs/cgroup/memory'

export async function memoryLimitUnavailable (): Promise<string | false> {
  if (process.getuid?.() !== 0) return 'needs root to create a memory cgroup'
  try {
    await access(`${root}/cgroup.procs`)
    return false
  } catch {
    return 'no cgroup v1 memory controller at /sys/fs/cgroup/memory'
  }
}

export interface LimitedRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Processes the kernel killed for memory in this cgroup. */
  oomKills: number
  maxUsageBytes: number
}

/** `node <args>` in a fresh cgroup limited to `limitBytes` (swap included when the kernel accounts it). */
export async function runUnderMemoryLimit (args: string[], limitBytes: number, opts: { timeoutMs?: number } = {}): Promise<LimitedRun> {
  const dir = `${root}/intake-test-${randomUUID()}`
  await mkdir(dir)
  try {
    await writeFile(`${dir}/memory.limit_in_bytes`, String(limitBytes))
    await writeFile(`${dir}/memory.memsw.limit_in_bytes`, String(limitBytes)).catch(() => {}) // absent without swap accounting
    const quoted = [process.execPath, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ')
    const child = spawn('sh', ['-c', `echo $$ > ${dir}/cgroup.procs && exec ${quoted}`], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])))
    clearTimeout(timer)
    const oom = await readFile(`${dir}/memory.oom_control`, 'utf8')
    const oomKills = Number(/oom_kill (\d+)/.exec(oom)?.[1] ?? 0)
    const maxUsageBytes = Number(await readFile(`${dir}/memory.max_usage_in_bytes`, 'utf8'))
    return { code, signal, stdout, stderr, oomKills, maxUsageBytes }
  } finally {
    await rmdir(dir).catch(() => {})
  }
}
