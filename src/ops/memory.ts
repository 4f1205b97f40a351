// The worker's memory budget and the gate that admits work by bytes within it.
//
// The budget is what the kernel will let the process use (the container's limit, or
// WORKER_MEMORY_MB) minus what the process already uses when it starts (code, keys,
// threads, connections). Jobs then take bytes from it before they open a message and
// give them back when they end; a job that cannot have its bytes waits (holding
// nothing), so the jobs in flight together can never ask for more than the budget.
import { readFileSync } from 'node:fs'
import { totalmem } from 'node:os'

const MiB = 1024 * 1024
/** cgroup v1 writes "no limit" as a page-rounded 2^63; anything this large is none. */
const unlimited = 2 ** 60

type ReadText = (path: string) => string

/**
 * The memory limit of this process's own cgroup: v2 `memory.max`, else v1
 * `memory.limit_in_bytes`, found through /proc/self/cgroup; undefined when there is none.
 */
export function containerMemoryLimit (read: ReadText = (path) => readFileSync(path, 'utf8')): number | undefined {
  let lines: string[]
  try {
    lines = read('/proc/self/cgroup').split('\n')
  } catch {
    return undefined
  }
  for (const line of lines) {
    // "hierarchy-id:controllers:path"; v2 is "0::/path", v1 lists "memory" among the controllers.
    if (line.split(':').length < 3) continue
    const [id, controllers, path] = splitCgroupLine(line)
    const file = id === '0' && controllers === ''
      ? `/sys/fs/cgroup${path}/memory.max`
      : controllers.split(',').includes('memory') ? `/sys/fs/cgroup/memory${path}/memory.limit_in_bytes` : undefined
    if (file === undefined) continue
    const limit = readLimit(read, file)
    if (limit !== undefined) return limit
  }
  // Inside a container with the host's cgroup namespace (Docker or Kubernetes on cgroup v1,
  // v2 with cgroupns=host) /proc/self/cgroup names the host's path, and the group is
  // mounted at the controller's root instead.
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    const limit = readLimit(read, file)
    if (limit !== undefined) return limit
  }
  return undefined
}

function splitCgroupLine (line: string): [string, string, string] {
  const first = line.indexOf(':')
  const second = line.indexOf(':', first + 1)
  return [line.slice(0, first), line.slice(first + 1, second), line.slice(second + 1).replace(/\/$/, '')]
}

function readLimit (read: ReadText, file: string): number | undefined {
  try {
    const text = read(file).trim()
    const bytes = Number(text)
    return text === 'max' || !Number.isFinite(bytes) || bytes <= 0 || bytes >= unlimited ? undefined : bytes
  } catch {
    return undefined
  }
}

/** The memory this process may use: `configuredMb` (an operator's setting), else the container's limit, else the machine's. */
export function memoryLimitBytes (configuredMb?: number): number {
  if (configuredMb !== undefined) return configuredMb * MiB
  return Math.min(containerMemoryLimit() ?? Infinity, totalmem())
}

/** Share of the limit kept out of the budget. */
const headroomShare = 0.1

export interface MemoryBudget {
  /** Bytes jobs may hold together. */
  bytes: number
  /** The limit it was taken from, and from where. */
  limitBytes: number
  source: 'WORKER_MEMORY_MB' | 'cgroup' | 'machine'
  /** What the process used when the budget was set (taken off the limit). */
  baselineBytes: number
}

/**
 * WORKER_MEMORY_MB, else the container's limit, else the machine's memory; less the
 * baseline, and never less than 32 MiB (so a misconfigured budget still admits small mail).
 */
export function memoryBudget (opts: { configuredMb?: number | undefined, baselineBytes: number, containerLimit?: number | undefined, machineBytes?: number }): MemoryBudget {
  const container = opts.containerLimit
  const [limitBytes, source]: [number, MemoryBudget['source']] = opts.configuredMb !== undefined
    ? [opts.configuredMb * MiB, 'WORKER_MEMORY_MB']
    : container !== undefined ? [container, 'cgroup'] : [opts.machineBytes ?? totalmem(), 'machine']
  // Headroom: what the process grows by after its start (heap, caches, connections) and
  // what admission estimates can miss; without it the 512 MiB fault test peaked at 484-512.
  const headroom = Math.round(limitBytes * headroomShare)
  return { bytes: Math.max(32 * MiB, limitBytes - opts.baselineBytes - headroom), limitBytes, source, baselineBytes: opts.baselineBytes }
}

export interface ByteGate {
  readonly capacity: number
  /** Bytes not held by anyone. */
  available: () => number
  /**
   * Waits until `bytes` are free, in arrival order, and takes them all at once; resolves
   * to the function that gives them back. Callers must hold nothing else while waiting.
   */
  acquire: (bytes: number) => Promise<Hold>
}

export interface Hold {
  readonly bytes: number
  /** Gives back part of the hold (what the job no longer needs) and keeps the rest. */
  shrinkTo: (bytes: number) => void
  release: () => void
}

/** A counting semaphore over bytes, first come first served (a big request is not starved by small ones). */
export function byteGate (capacity: number): ByteGate {
  let free = capacity
  const waiting: Array<{ bytes: number, grant: () => void }> = []
  const wake = (): void => {
    while (waiting.length > 0 && (waiting[0] as { bytes: number }).bytes <= free) {
      const next = waiting.shift() as { bytes: number, grant: () => void }
      free -= next.bytes
      next.grant()
    }
  }
  const hold = (bytes: number): Hold => {
    let held = bytes
    return {
      get bytes () { return held },
      shrinkTo (to: number) {
        const keep = Math.max(0, Math.min(held, to))
        free += held - keep
        held = keep
        wake()
      },
      release () { this.shrinkTo(0) }
    }
  }
  return {
    capacity,
    available: () => free,
    async acquire (bytes: number): Promise<Hold> {
      if (bytes > capacity) throw new RangeError(`${bytes} bytes can never fit a budget of ${capacity}`)
      if (waiting.length === 0 && bytes <= free) {
        free -= bytes
        return hold(bytes)
      }
      return await new Promise<Hold>((resolve) => { waiting.push({ bytes, grant: () => resolve(hold(bytes)) }) })
    }
  }
}
