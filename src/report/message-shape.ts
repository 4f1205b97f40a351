// The worker's first look at a stored delivery. The web role takes whatever an
// authenticated provider hands over (a message is never refused for its content), so
// here it is decided: bytes without a single header field are not a message and go to
// the quarantine; anything else is read, a message without From included (its advisory
// says so and no acknowledgement can go out).
import { headerBoundary, readHeaderLines } from '../inbound/message-head.js'
import { ReportError } from '../domain/errors.js'
import { concatYielding } from '../ops/yielding-copy.js'

/**
 * The bytes to open. A message whose MTA left out the empty line after the header gets
 * one where the header visibly ends, so MIME parsers do not read its text as header and
 * drop it. The sealed original is not changed.
 */
export async function readableMessage (raw: Buffer): Promise<Buffer> {
  if (readHeaderLines(raw).length === 0) throw new ReportError('not-a-message', 'no header field at the start of the bytes: not an e-mail message')
  const { blankLine, bodyStart } = headerBoundary(raw)
  if (blankLine || bodyStart >= raw.length) return raw
  const eol = bodyStart >= 2 && raw[bodyStart - 2] === 0x0d ? '\r\n' : '\n'
  return await concatYielding([raw.subarray(0, bodyStart), Buffer.from(eol), raw.subarray(bodyStart)])
}
