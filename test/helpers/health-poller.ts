// GET /healthz every 100 ms from a thread of its own, so the caller's own work (building
// and uploading hundreds of MB) does not show up as the gateway's latency.
import { Worker } from 'node:worker_threads'

export interface HealthSample { ms: number, status: number }

export function healthPoller (url: string): { stop: () => Promise<HealthSample[]> } {
  const worker = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads')
    const results = []
    let polling = true
    parentPort.on('message', () => { polling = false })
    ;(async () => {
      while (polling) {
        const start = performance.now()
        const status = await fetch(workerData + '/healthz', { signal: AbortSignal.timeout(10000) }).then((r) => r.status, () => 0)
        results.push({ ms: performance.now() - start, status })
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      parentPort.postMessage(results)
    })()
  `, { eval: true, workerData: url })
  return {
    stop: () => new Promise((resolve) => {
      worker.once('message', (results) => { void worker.terminate(); resolve(results) })
      worker.postMessage('stop')
    })
  }
}

/** Nearest-rank percentile. */
export function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN
}
