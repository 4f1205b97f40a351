// Runs a child process under a real memory limit (cgroup v1 memory controller): what a
// container's limit does to the worker. Needs root and the controller; callers skip
// with `memoryLimitUnavailable()`'s reason otherwise. The group itself: ./cgroup.ts.
import { spawn } from 'node:child_process'
import { cgroupUnavailable, memoryCgroup } from './cgroup.js'

export async function memoryLimitUnavailable (): Promise<string | false> {
  return cgroupUnavailable() ?? false
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
  const group = memoryCgroup('test', limitBytes)
  try {
    const child = spawn('/bin/sh', ['-c', `echo $$ > '${group.dir}/cgroup.procs' && exec "$0" "$@"`, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])))
    clearTimeout(timer)
    return { code, signal, stdout, stderr, oomKills: group.oomKills(), maxUsageBytes: group.maxUsage() }
  } finally {
    group.remove()
  }
}
