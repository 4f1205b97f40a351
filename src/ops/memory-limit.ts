// The memory this process may use: the container's cgroup limit (v2 memory.max, v1
// memory.limit_in_bytes, of the group this process is in), else the machine's memory.
import { readFileSync } from 'node:fs'
import { totalmem } from 'node:os'

/** Bytes, or undefined when no limit is set (or none can be read). */
export function cgroupMemoryLimit (procCgroup = '/proc/self/cgroup', root = '/sys/fs/cgroup'): number | undefined {
  let lines: string[]
  try { lines = readFileSync(procCgroup, 'utf8').split('\n') } catch { return undefined }
  const v1 = lines.map((l) => /^\d+:([^:]*):(.*)$/.exec(l)).find((m) => m?.[1]?.split(',').includes('memory') === true)?.[2]
  const v2 = lines.map((l) => /^0::(.*)$/.exec(l)).find((m) => m !== null)?.[1]
  // The group's own file first; inside a container with its own cgroup namespace the
  // path may not exist under this mount, and the mount's root is then the group.
  const candidates = [
    ...(v1 !== undefined ? [`${root}/memory${v1}/memory.limit_in_bytes`, `${root}/memory/memory.limit_in_bytes`] : []),
    ...(v2 !== undefined ? [`${root}${v2}/memory.max`, `${root}/memory.max`] : [])
  ]
  for (const file of candidates) {
    let text: string
    try { text = readFileSync(file.replace(/\/+/g, '/'), 'utf8').trim() } catch { continue }
    const n = Number(text)
    // v1 says "no limit" with a huge number (PAGE_COUNTER_MAX), v2 with "max".
    return text === 'max' || !Number.isFinite(n) || n >= 2 ** 60 ? undefined : n
  }
  return undefined
}

/** `configuredMb` (an operator's setting) wins; then the cgroup limit; then the machine. */
export function memoryLimitBytes (configuredMb?: number): number {
  if (configuredMb !== undefined) return configuredMb * 1024 * 1024
  return Math.min(cgroupMemoryLimit() ?? Infinity, totalmem())
}
