// A real memory limit for a child process (cgroup v1, what this machine and CI have): the
// kernel, not the test, decides whether the process fits. The child joins the group
// itself before exec (see startChildRole's `cgroup` option), so all it allocates counts.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'

const ROOT = '/sys/fs/cgroup/memory'

export interface MemoryCgroup {
  dir: string
  /** Highest memory charged to the group (RSS and page cache), bytes. */
  maxUsage: () => number
  /** Processes the kernel's OOM killer killed in the group. */
  oomKills: () => number
  remove: () => void
}

/** Why a memory cgroup cannot be made here, or undefined when it can. */
export function cgroupUnavailable (): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: cannot create a memory cgroup'
  if (!existsSync(join(ROOT, 'memory.limit_in_bytes'))) return 'no cgroup v1 memory controller at /sys/fs/cgroup/memory'
  return undefined
}

export function memoryCgroup (name: string, limitBytes: number): MemoryCgroup {
  const dir = join(ROOT, `intake-${name}-${randomBytes(4).toString('hex')}`)
  mkdirSync(dir)
  writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limitBytes))
  // No swap beyond the limit, where the kernel allows setting it.
  try { writeFileSync(join(dir, 'memory.memsw.limit_in_bytes'), String(limitBytes)) } catch {}
  const read = (file: string) => readFileSync(join(dir, file), 'utf8')
  return {
    dir,
    maxUsage: () => Number(read('memory.max_usage_in_bytes')),
    oomKills: () => Number(/oom_kill (\d+)/.exec(read('memory.oom_control'))?.[1] ?? 0),
    remove () {
      // The group can go once its processes have exited; retry briefly.
      for (let i = 0; i < 50; i++) {
        try { rmdirSync(dir); return } catch { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100) }
      }
    }
  }
}
