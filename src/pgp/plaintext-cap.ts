// The plaintext cap of one decompression: the message's remaining plaintext budget (from
// the worker's memory admission), and at most maxExpansion times the input. Shared by
// decryption and by signed-but-not-encrypted inline messages, which inflate as well.
import { ReportError } from '../domain/errors.js'

/**
 * Plaintext per input byte allowed beyond the first MiB. Text and logs deflate 3-50
 * times; zlib's ceiling is about 1,000. Over it the message is a bomb (or a log no
 * report needs whole) and goes to quarantine `too-large` with its sizes.
 */
export const maxExpansion = 256
const expansionFloor = 1024 * 1024

export interface PlaintextCap {
  maxBytes: number
  /** The refusal once maxBytes is passed: the ratio, or the size cap (retryable with a larger one). */
  tooLarge: () => ReportError
}

/** `what` names the input (ciphertext, signed message) and the output (decrypted, decompressed content). */
export function plaintextCap (inputBytes: number, sizeCap: number, what: { input: string, output: 'decrypted' | 'decompressed' }): PlaintextCap {
  const maxBytes = Math.min(sizeCap, Math.max(expansionFloor, maxExpansion * inputBytes))
  const tooLarge = (): ReportError => maxBytes < sizeCap
    ? new ReportError('too-large', `the compressed content expands more than ${maxExpansion} times: over ${maxBytes} bytes from ${inputBytes} bytes of ${what.input}`)
    : new ReportError('too-large', `the ${what.output} content is larger than ${maxBytes} bytes after decompression`)
  return { maxBytes, tooLarge }
}

/** openpgp.js' error when maxDecompressedMessageSize is passed. */
export function isDecompressionCap (err: unknown): boolean {
  return err instanceof Error && /Maximum decompressed/i.test(err.message)
}

const plaintextCapTexts = ['the decrypted content is larger than', 'the decompressed content is larger than']

/**
 * The error says the plaintext passed the size cap given to this call (not the expansion
 * ratio, nor a part or nesting limit): with a larger cap it might open. Read from the
 * message, which crosses thread boundaries where classes do not.
 */
export function isPlaintextCap (err: unknown): boolean {
  return err instanceof ReportError && err.code === 'too-large' && plaintextCapTexts.some((text) => err.message.startsWith(text))
}
