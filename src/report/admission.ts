// Admission by bytes: each job reserves, from the worker's memory budget, what opening its
// message can cost before it opens it, and keeps the reservation until the job ends (the
// opened report stays in memory while it is filed).
//
// What a message costs is only known once it is decrypted (300 KB of ciphertext can
// inflate to the plaintext cap), so a job first reserves for a plaintext of the usual
// size and opens with that as its plaintext cap. Over it, the job gives everything back,
// waits for the reservation of the largest message the budget allows (holding nothing,
// so jobs cannot deadlock waiting for each other) and opens again with that cap. A
// message that does not fit the whole budget goes to quarantine `too-large` with its
// sizes: never into an out-of-memory kill.
import { limits } from '../domain/limits.js'
import { isPlaintextCap } from '../pgp/decrypt.js'
import type { ByteGate, Hold } from '../ops/memory.js'
import { ReportError } from '../domain/errors.js'
import type { OpenedReport } from '../domain/report.js'

/**
 * Peak bytes per byte of raw message plus plaintext while a report is opened and filed
 * (decrypt, MIME parse, text, triage, rendering). Measured (`npm run bench`, BENCHMARKS.md):
 * a 60 MB compression bomb peaks ~7.5x, a 25 MB attachment (35 MB raw) ~6x.
 */
export const openCostFactor = 8

/** The plaintext reserved on the first try: what a message this size usually decrypts to. */
function usualPlaintext (rawBytes: number): number {
  return 4 * rawBytes + 1024 * 1024
}

export interface MemoryTicket {
  /**
   * Reserves for a message of about `rawBytes` before it is even read (unsealing holds the
   * sealed and the opened copy), so jobs waiting for memory hold none of it.
   */
  reserve: (rawBytes: number) => Promise<void>
  /** Runs `open` within a reservation; `open` gets the plaintext cap it must keep to. */
  open: (raw: Buffer, open: (plaintextBytes: number) => Promise<OpenedReport>) => Promise<OpenedReport>
  /** Gives the reservation back (the job ended). */
  release: () => void
}

export interface Admission {
  ticket: () => MemoryTicket
  /** The largest plaintext one message may have under this budget. */
  maxPlaintext: (rawBytes: number) => number
}

export function admission (gate: ByteGate, factor = openCostFactor): Admission {
  const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)
  const maxPlaintext = (rawBytes: number): number => Math.min(limits.decryptedBytes, Math.floor(gate.capacity / factor) - rawBytes)
  const cost = (rawBytes: number, plaintext: number): number => Math.min(gate.capacity, factor * (rawBytes + plaintext))
  return {
    maxPlaintext,
    ticket () {
      let hold: Hold | undefined
      const take = async (bytes: number): Promise<void> => {
        if (hold !== undefined && hold.bytes >= bytes) return
        hold?.release()
        hold = undefined
        hold = await gate.acquire(bytes)
      }
      const firstCost = (rawBytes: number): number => cost(rawBytes, Math.max(0, Math.min(maxPlaintext(rawBytes), usualPlaintext(rawBytes))))
      return {
        async reserve (rawBytes) {
          await take(firstCost(rawBytes))
        },
        async open (raw, open) {
          const most = maxPlaintext(raw.length)
          if (most < 0) {
            throw new ReportError('too-large', `the message is ${raw.length} bytes; opening it takes about ${mib(factor * raw.length)} MiB, more than the worker's memory budget of ${mib(gate.capacity)} MiB`)
          }
          const first = Math.min(most, usualPlaintext(raw.length))
          await take(firstCost(raw.length))
          try {
            return await open(first)
          } catch (err) {
            if (!isPlaintextCap(err) || first >= most) throw overBudget(err, raw.length, most)
          }
          await take(cost(raw.length, most))
          try {
            return await open(most)
          } catch (err) {
            throw overBudget(err, raw.length, most)
          }
        },
        release () {
          hold?.release()
          hold = undefined
        }
      }
    }
  }

  /** The plaintext cap this budget sets, said with the sizes; other errors pass unchanged. */
  function overBudget (err: unknown, rawBytes: number, most: number): unknown {
    if (!isPlaintextCap(err) || most >= limits.decryptedBytes) return err
    return new ReportError('too-large', `the decrypted content is larger than ${most} bytes, the most one message of ${rawBytes} bytes may decrypt to within the worker's memory budget of ${mib(gate.capacity)} MiB (opening costs about ${factor}x the plaintext)`)
  }
}
