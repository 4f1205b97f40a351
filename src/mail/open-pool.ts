// Reports opened on worker threads (DECRYPT_THREADS): decryption, signature checks, MIME
// parsing and HTML-to-text are CPU work of up to seconds on a large message, and on the
// main thread they would block the event loop the web role shares in `npm start`. Each
// thread holds the team keys (the worker role only). Admission by bytes (report/admission.ts)
// is what keeps memory within the budget; the threads' heap limit (the budget) is a second
// line only: V8 ends a thread that passes it as ERR_WORKER_OUT_OF_MEMORY (-> `too-large`),
// but some allocation shapes (one huge string) abort the whole process instead
// (nodejs/node#47224), so it is set where the container would kill us anyway.
import { Piscina } from 'piscina'
import { ReportError } from '../domain/errors.js'
import type { OpenedReport } from '../domain/report.js'
import type { OpenAnswer, OpenTask } from './open-thread.js'
import type { OpenReportDeps } from './open-report.js'
import { parseMime } from './parse.js'
import { concatYielding } from '../ops/yielding-copy.js'

export interface OpenPool {
  /** openReport, on a thread. */
  open: (raw: Buffer, deps: OpenReportDeps) => Promise<OpenedReport>
  /** Threads running now: none until the first report, none again after THREAD_IDLE_MS without one. */
  threadCount: () => number
  close: () => Promise<void>
}

/**
 * An idle thread holds a second copy of openpgp.js, the parsers and the keys (~30 MiB);
 * starting one again costs ~0.2 s, nothing beside a report's seconds-long clocks.
 */
const THREAD_IDLE_MS = 60_000

export function createOpenPool (opts: { threads: number, armored: string[], passphrase?: string, heapMb: number, idleMs?: number }): OpenPool {
  // Run from src/ under tsx (tests) or from dist/ (production): the thread file follows.
  const filename = new URL(import.meta.url.endsWith('.ts') ? './open-thread.ts' : './open-thread.js', import.meta.url).href
  const pool = new Piscina({
    filename,
    minThreads: 0,
    maxThreads: opts.threads,
    idleTimeout: opts.idleMs ?? THREAD_IDLE_MS,
    resourceLimits: { maxOldGenerationSizeMb: opts.heapMb },
    workerData: { armored: opts.armored, ...(opts.passphrase === undefined ? {} : { passphrase: opts.passphrase }) }
  })
  return {
    async open (raw, deps) {
      const task: OpenTask = { raw: await ownCopy(raw), plaintextBytes: deps.plaintextBytes ?? Infinity, knownKeys: await knownKeys(raw, deps) }
      let answer: OpenAnswer
      try {
        answer = await pool.run(task, { transferList: [task.raw.buffer as ArrayBuffer] }) as OpenAnswer
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') {
          throw new ReportError('too-large', `opening the message (${raw.length} bytes) needed more than the ${opts.heapMb} MiB heap an open thread may use`)
        }
        throw new Error(`${(err as Error)?.name ?? 'Error'} in an open thread (message withheld: it may quote report content)`)
      }
      if (answer.ok) return asBuffers(answer.report)
      if (answer.code !== undefined) throw new ReportError(answer.code, answer.message)
      throw new Error(answer.message)
    },
    threadCount: () => pool.threads.length,
    close: async () => { await pool.destroy() }
  }
}

/** The message in an ArrayBuffer of its own, so moving it to the thread moves nothing else (copied in slices: 35 MB at once held the loop ~0.1 s). */
async function ownCopy (raw: Buffer): Promise<Uint8Array> {
  return await concatYielding([raw])
}

/** Keys on record for the sender: the lookup needs Redis, which the thread has not. */
async function knownKeys (raw: Buffer, deps: OpenReportDeps): Promise<string[]> {
  if (deps.knownSenderKeys === undefined) return []
  const from = (await parseMime(headerSection(raw), { headersOnly: true }).catch(() => undefined))?.from?.address
  if (from === undefined) return []
  return (await deps.knownSenderKeys(from)).map((key) => key.armor())
}

/** The bytes up to the first blank line: reading From must not walk a body of tens of MB. */
function headerSection (raw: Buffer): Buffer {
  const ends = [raw.indexOf('\r\n\r\n'), raw.indexOf('\n\n')].filter((at) => at !== -1)
  return ends.length === 0 ? raw : raw.subarray(0, Math.min(...ends) + 2)
}

/** Uint8Arrays back to Buffers (structured clone drops the Buffer prototype), without copying. */
function asBuffers (report: OpenedReport): OpenedReport {
  const attachments = report.attachments.map((a) => ({ ...a, content: Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength) }))
  return { ...report, attachments }
}
