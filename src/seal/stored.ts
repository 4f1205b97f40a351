// A sealed message as stored in Redis, opened without blocking the event loop: read in
// GETRANGE slices into openSliced (one GET of a 35 MB value is joined by the client in one
// go, ~0.2 s of a stalled loop, and held twice over while it is).
import type { KeyObject } from 'node:crypto'
import type { Redis } from 'ioredis'
import { openSliced } from './hpke.js'

/** The stored bytes are not an envelope this key opens for this aad (not a Redis failure). */
export class UnsealError extends Error {
  override name = 'UnsealError'
}

/**
 * The plaintext sealed under `key`, or undefined when there is none. `length` is the
 * value's size when the caller already asked (STRLEN). Redis errors are thrown as they
 * are (worth a retry); a seal that does not open throws UnsealError.
 */
export async function openStored (redis: Redis, key: string, privateKey: KeyObject, aad: string, length?: number): Promise<Buffer | undefined> {
  const size = length ?? await redis.strlen(key)
  if (size === 0) return undefined
  let readError: unknown
  const read = async (start: number, end: number): Promise<Buffer> => await redis.getrangeBuffer(key, start, end - 1).catch((err: unknown) => { readError = err; throw err })
  try {
    return await openSliced(privateKey, size, read, aad)
  } catch (err) {
    if (readError !== undefined) throw readError
    throw new UnsealError('the stored message does not open with this key', { cause: err })
  }
}
