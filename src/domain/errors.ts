// Errors raised while opening a report. Their messages are written by us and never
// include report content, so they are safe to log, store with a quarantine entry and
// show to the team.

export type ReportErrorCode =
  | 'undecryptable' // no configured key matches, or decryption failed
  | 'unauthenticated' // ciphertext without integrity protection (EFAIL)
  | 'tampered' // integrity check failed
  | 'too-large' // a size, part-count, nesting or decompression cap was hit
  | 'unparsable' // not a MIME message we can read
  | 'not-a-message' // the bytes do not start with a single header field: not e-mail at all
  | 'sealed-missing' // the sealed raw message is gone from Redis

export class ReportError extends Error {
  readonly code: ReportErrorCode
  constructor (code: ReportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ReportError'
    this.code = code
  }
}
