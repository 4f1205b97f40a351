// Memory: peak resident set size (VmHWM) of the worker process while it processes one
// 25 MB encrypted message, and, in a fresh worker, a burst of 1,000 small encrypted
// ones; the web role's peak beside it. Built production entry, default concurrency.
import { randomBytes } from 'node:crypto'
import { startChildRole } from '../test/helpers/child-gateway.js'
import { attachmentPart, message, multipart, openpgpEncrypt, pgpMimeEncrypted, textPart } from '../test/helpers/gpg.js'
import { peakRssMiB, rssMiB, signedHeaders, sleep, waitUntil, benchPeers, type Target, benchWorkerEnv, workerNodeArgs } from './lib.js'

const SECRET = 'bench-inbound-secret-0123456789abcdef'

export interface MemoryRow { load: string, rawMiB: number, idleMiB: number, workerPeakMiB: number, webPeakMiB: number }

export async function memory (env: Record<string, string> = {}): Promise<{ rows: MemoryRow[], targets: Target[] }> {
  const peers = await benchPeers()
  const { redis, stub, smtp, seal, key, publicKey } = peers
  const rows: MemoryRow[] = []

  const big = async () => {
    const inner = multipart('mixed', [textPart('Proof of concept attached (core dump).\n'), attachmentPart({ filename: 'core.bin', content: randomBytes(13 * 1024 * 1024) })])
    return [message({ from: 'Big <big@example.net>', subject: '...', messageId: `mem-big-${Date.now()}@example.net` }, pgpMimeEncrypted(await openpgpEncrypt(inner, { to: [publicKey] })))]
  }
  const burst = async () => {
    const out: Buffer[] = []
    for (let n = 0; n < 1000; n++) {
      out.push(message({ from: `R ${n} <r${n}@example.net>`, subject: '...', messageId: `mem-${n}-${Date.now()}@example.net` }, pgpMimeEncrypted(await openpgpEncrypt(multipart('mixed', [textPart(`Report ${n}: SSRF in the webhook tester.\n`)]), { to: [publicKey] }))))
    }
    return out
  }

  try {
    for (const [label, make] of [['one 25 MB encrypted message', big], ['burst of 1,000 small encrypted messages', burst]] as const) {
      const raws = await make()
      const prefix = `bench-mem-${rows.length}`
      const common = { REDIS_URL: redis.url, QUEUE_PREFIX: prefix, DATA_DIR: '/tmp/intake-bench-data' }
      const web = await startChildRole('web', { ...common, INBOUND_SECRET: SECRET, SEAL_PUBLIC_KEY: seal.publicKey, LOG_LEVEL: 'warn' }, [], { entry: 'dist' })
      const worker = await startChildRole('worker', {
        ...common,
        ...benchWorkerEnv({ seal, key, stub, smtp }),
        ...env
      }, [], { entry: 'dist', nodeArgs: workerNodeArgs() })
      await sleep(2000) // settled: start-up garbage collected, nothing processed yet
      const idle = rssMiB(worker.child.pid as number)
      const before = stub.advisories.length
      let next = 0
      await Promise.all(Array.from({ length: 20 }, async () => {
        while (next < raws.length) {
          const raw = raws[next++] as Buffer
          const res = await fetch(`${web.url}/inbound/raw`, { method: 'POST', headers: signedHeaders(SECRET, raw), body: raw })
          if (res.status !== 200) throw new Error(`bench: memory post answered ${res.status}`)
        }
      }))
      await waitUntil(() => stub.advisories.length - before >= raws.length, label, 600_000, 100)
      rows.push({ load: label, rawMiB: Math.max(...raws.map((r) => r.length)) / 2 ** 20, idleMiB: idle, workerPeakMiB: peakRssMiB(worker.child.pid as number), webPeakMiB: peakRssMiB(web.child.pid as number) })
      process.stdout.write(`  memory, ${label}: worker peak ${rows.at(-1)!.workerPeakMiB.toFixed(0)} MiB, web peak ${rows.at(-1)!.webPeakMiB.toFixed(0)} MiB\n`)
      await web.kill()
      await worker.kill()
    }
  } finally {
    await peers.close()
  }
  return {
    rows,
    targets: [
      // issue 17: < 200 MB for the 25 MB message; the burst keeps the earlier < 300 MB
      ...rows.map((r) => {
        const limit = r.rawMiB >= 1 ? 200 : 300
        return { name: `Peak RSS, worker, ${r.load}`, target: `< ${limit} MB`, measured: `${(r.workerPeakMiB * 1.048576).toFixed(0)} MB`, met: r.workerPeakMiB * 1.048576 < limit }
      }),
      { name: 'Worker RSS idle (default DECRYPT_THREADS, 2 s after start)', target: '< 90 MiB', measured: `${Math.max(...rows.map((r) => r.idleMiB)).toFixed(0)} MiB (highest of ${rows.length} starts)`, met: Math.max(...rows.map((r) => r.idleMiB)) < 90 }
    ]
  }
}

export function memoryTable (rows: MemoryRow[]): string {
  return [
    '| load | largest message | worker RSS idle | worker peak RSS | web peak RSS |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.load} | ${r.rawMiB >= 1 ? `${r.rawMiB.toFixed(1)} MiB` : `${(r.rawMiB * 1024).toFixed(1)} KiB`} | ${r.idleMiB.toFixed(0)} MiB | ${r.workerPeakMiB.toFixed(0)} MiB | ${r.webPeakMiB.toFixed(0)} MiB |`)
  ].join('\n')
}
