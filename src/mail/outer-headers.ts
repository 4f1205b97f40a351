// The unencrypted envelope of a message we could not open: enough to thread a
// "could not decrypt" reply and to apply RFC 3834. Returns undefined when even the
// headers cannot be read.
import { parseMime } from './parse.js'
import type { OpenedReport } from '../domain/report.js'

export type OuterHeaders = Pick<OpenedReport, 'headers' | 'from' | 'replyTo' | 'messageId' | 'references' | 'subject'>

export async function outerHeaders (raw: Buffer): Promise<OuterHeaders | undefined> {
  try {
    // The header section only: the body may be tens of MB, and this runs on the event loop.
    const parsed = await parseMime(raw, { headersOnly: true })
    return {
      headers: parsed.headers,
      subject: parsed.subject ?? '',
      references: parsed.references ?? [],
      ...(parsed.from ? { from: parsed.from } : {}),
      ...(parsed.replyTo ? { replyTo: parsed.replyTo } : {}),
      ...(parsed.messageId ? { messageId: parsed.messageId } : {})
    }
  } catch {
    return undefined
  }
}
