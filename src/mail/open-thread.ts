// One thread of the open pool (open-pool.ts): loads the team keys once from workerData,
// then opens the reports it is given (decrypt, verify, MIME parse, HTML to text) and
// hands back the opened report, its buffers moved rather than copied. Our own errors
// travel back as code and message; any other as its class name only (library messages
// can quote input).
import { workerData } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { readKey } from 'openpgp'
import { loadTeamKeyring } from '../pgp/keyring.js'
import type { TeamKeyring } from '../pgp/types.js'
import { ReportError } from '../domain/errors.js'
import type { OpenedReport } from '../domain/report.js'
import { openReport } from './open-report.js'

export interface OpenTask {
  raw: Uint8Array
  plaintextBytes: number
  /** Armored keys on record for the sender (looked up on the main thread, which has Redis). */
  knownKeys: string[]
}

export type OpenAnswer = { ok: true, report: OpenedReport } | { ok: false, code?: ReportError['code'], message: string }

const { armored, passphrase } = workerData as { armored: string[], passphrase?: string }
let keyring: Promise<TeamKeyring> | undefined

export default async function open ({ raw, plaintextBytes, knownKeys }: OpenTask): Promise<unknown> {
  keyring ??= loadTeamKeyring({ armored, ...(passphrase === undefined ? {} : { passphrase }) })
  try {
    const known = await Promise.all(knownKeys.map(async (armoredKey) => await readKey({ armoredKey })))
    const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
    const report = await openReport(bytes, { keyring: await keyring, knownSenderKeys: async () => known, plaintextBytes })
    return moved({ ok: true, report }, report.attachments.map((a) => a.content))
  } catch (err) {
    if (err instanceof ReportError) return { ok: false, code: err.code, message: err.message } satisfies OpenAnswer
    return { ok: false, message: `${(err as Error)?.name ?? 'Error'} in an open thread (message withheld: it may quote report content)` } satisfies OpenAnswer
  }
}

/**
 * The answer with the attachments' memory moved to the main thread instead of copied.
 * Only buffers that own their whole ArrayBuffer move: a slice of a shared one (Node's
 * pool, a parser's chunk) would take its neighbours along, so those are copied.
 */
function moved (answer: OpenAnswer, buffers: Buffer[]): unknown {
  const list = new Set<ArrayBuffer>()
  for (const b of buffers) {
    if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.byteLength >= 64 * 1024 && b.buffer instanceof ArrayBuffer) list.add(b.buffer)
  }
  return Piscina.move({ [Piscina.transferableSymbol]: [...list], [Piscina.valueSymbol]: answer } as unknown as Parameters<typeof Piscina.move>[0])
}
