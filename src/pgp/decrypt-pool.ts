// Decryption spread over worker threads (DECRYPT_THREADS). openpgp.js decrypts on the
// JavaScript thread (~3 ms of a ~10 ms report for a Curve25519 key, far more for RSA),
// so one worker process is bound by one core; threads, each holding the secret keys,
// let decryption use the others while the main thread parses, files and replies.
import { Piscina } from 'piscina'
import { ReportError } from '../domain/errors.js'
import type { DecryptedParts } from './types.js'
import type { ThreadAnswer } from './decrypt-thread.js'

export interface DecryptPool {
  decrypt: (input: Uint8Array | string, maxBytes: number) => Promise<DecryptedParts>
  close: () => Promise<void>
}

export function createDecryptPool (opts: { threads: number, armored: string[], passphrase?: string }): DecryptPool {
  // Run from src/ under tsx (tests) or from dist/ (production): the thread file follows.
  const filename = new URL(import.meta.url.endsWith('.ts') ? './decrypt-thread.ts' : './decrypt-thread.js', import.meta.url).href
  const pool = new Piscina({
    filename,
    minThreads: opts.threads,
    maxThreads: opts.threads,
    workerData: { armored: opts.armored, ...(opts.passphrase === undefined ? {} : { passphrase: opts.passphrase }) }
  })
  return {
    async decrypt (input, maxBytes) {
      const answer = await pool.run({ input, maxBytes }) as ThreadAnswer
      if (answer.ok) return answer.parts
      if (answer.code !== undefined) throw new ReportError(answer.code, answer.message)
      throw new Error(answer.message)
    },
    close: async () => { await pool.destroy() }
  }
}
