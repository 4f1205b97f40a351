// The budget comes from the process's own cgroup (v2 or v1), else WORKER_MEMORY_MB or the
// machine; the gate hands out bytes first come, first served, never more than it has.
import t from 'tap'
import { byteGate, containerMemoryLimit, memoryBudget } from '../../src/ops/memory.js'

const files = (map: Record<string, string>) => (path: string): string => {
  const text = map[path]
  if (text === undefined) throw new Error(`ENOENT ${path}`)
  return text
}

t.test('the container limit is read from the process\'s own cgroup', async (t) => {
  t.equal(containerMemoryLimit(files({
    '/proc/self/cgroup': '0::/fly/app\n',
    '/sys/fs/cgroup/fly/app/memory.max': '536870912\n'
  })), 536870912, 'cgroup v2')
  t.equal(containerMemoryLimit(files({
    '/proc/self/cgroup': '9:pids:/\n4:memory:/process_api/abc\n1:cpu:/\n0::/\n',
    '/sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes': '536870912\n'
  })), 536870912, 'cgroup v1, in a hybrid layout')
  t.equal(containerMemoryLimit(files({
    '/proc/self/cgroup': '4:memory:/\n',
    '/sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n'
  })), undefined, 'v1 "no limit"')
  t.equal(containerMemoryLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/memory.max': 'max\n' })), undefined, 'v2 "max"')
  t.equal(containerMemoryLimit(files({})), undefined, 'no /proc')
  t.equal(containerMemoryLimit(files({
    '/proc/self/cgroup': '4:memory:/docker/0123abcd\n',
    '/sys/fs/cgroup/memory/memory.limit_in_bytes': '536870912\n'
  })), 536870912, 'v1 with the host\'s cgroup namespace: the host path is not mounted, the group is at the root')
  t.equal(containerMemoryLimit(files({
    '/proc/self/cgroup': '0::/kubepods/pod1/abc\n',
    '/sys/fs/cgroup/memory.max': '268435456\n'
  })), 268435456, 'v2 with cgroupns=host')
})

t.test('the budget: configured, else the container, else the machine; less the baseline', async (t) => {
  const MiB = 1024 * 1024
  // The budget: the limit less the baseline less a tenth of the limit (headroom).
  t.match(memoryBudget({ configuredMb: 300, baselineBytes: 100 * MiB, containerLimit: 512 * MiB }), { bytes: 170 * MiB, source: 'WORKER_MEMORY_MB' })
  t.match(memoryBudget({ baselineBytes: 112 * MiB, containerLimit: 512 * MiB }), { bytes: Math.round(348.8 * MiB), source: 'cgroup' })
  t.match(memoryBudget({ baselineBytes: 0, machineBytes: 1000 * MiB }), { bytes: 900 * MiB, source: 'machine' })
  t.equal(memoryBudget({ configuredMb: 64, baselineBytes: 200 * MiB }).bytes, 32 * MiB, 'never below a floor that still admits small mail')
})

t.test('the gate admits by bytes, in arrival order, and never over its capacity', async (t) => {
  const gate = byteGate(100)
  const a = await gate.acquire(60)
  const order: string[] = []
  const big = gate.acquire(80).then((h) => { order.push('big'); return h })
  const small = gate.acquire(10).then((h) => { order.push('small'); return h })
  await new Promise((resolve) => setImmediate(resolve))
  t.same(order, [], 'the big one waits, and the small one waits behind it (no starvation)')
  t.equal(gate.available(), 40)
  a.release()
  const b = await big
  t.equal(gate.available(), 10, "both fit once the first is given back")
  const s = await small
  t.same(order, ['big', 'small'])
  b.shrinkTo(30)
  t.equal(gate.available(), 60, 'a shrunk hold gives the rest back')
  b.release(); s.release()
  t.equal(gate.available(), 100)
  await t.rejects(gate.acquire(101), RangeError, 'a request larger than the whole budget is refused, not queued forever')
})

t.test('open threads: DECRYPT_THREADS, at most one per 512 MiB of the limit, at least one', async (t) => {
  const { openThreads } = await import('../../src/roles/worker.js')
  const MiB = 1024 * 1024
  t.equal(openThreads(2, 512 * MiB), 1, 'the shipped 512 MiB machine: one thread')
  t.equal(openThreads(2, 256 * MiB), 1, 'never none when threads are asked for')
  t.equal(openThreads(2, 1024 * MiB), 2)
  t.equal(openThreads(4, 24 * 1024 * MiB), 4, 'a large machine: as configured')
  t.equal(openThreads(0, 24 * 1024 * MiB), 0, '0 still opens on the main thread')
})
