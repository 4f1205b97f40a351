// Reading provider form posts without losing a byte. The message travels in a form
// field, and mail may carry 8-bit bytes that are not UTF-8: decoding them as text
// (URLSearchParams, busboy's field decoder) turns them into U+FFFD for good. So the
// urlencoded decoder here works on bytes, and in multipart posts the message field is
// read as a *file* part (raw bytes, busboy never decodes those).
import type { FastifyReply, FastifyRequest } from 'fastify'

export type FormFields = Map<string, Buffer>

class FormError extends Error {
  constructor (readonly statusCode: 400 | 413, message: string) {
    super(message)
    this.name = 'FormError'
  }
}

const MAX_FIELDS = 100
const MAX_SMALL_FIELD = 1024 * 1024 // every field but the message (envelope, verdicts, ...)

/** application/x-www-form-urlencoded -> name -> bytes; '+' is a space, %XX any byte. */
export function parseUrlencoded (body: Buffer): FormFields {
  const fields: FormFields = new Map()
  let start = 0
  while (start <= body.length) {
    let end = body.indexOf(0x26, start) // '&'
    if (end === -1) end = body.length
    if (end > start) {
      if (fields.size >= MAX_FIELDS) throw new FormError(413, 'too many form fields')
      const eq = body.indexOf(0x3d, start) // '='
      const split = eq === -1 || eq > end ? end : eq
      const name = percentDecode(body, start, split).toString('utf8')
      const value = split === end ? Buffer.alloc(0) : percentDecode(body, split + 1, end)
      if (!fields.has(name)) fields.set(name, value) // first wins, as with every other field source here
    }
    start = end + 1
  }
  return fields
}

function percentDecode (buf: Buffer, from: number, to: number): Buffer {
  const out = Buffer.allocUnsafe(to - from)
  let o = 0
  for (let i = from; i < to; i++) {
    const c = buf[i] as number
    if (c === 0x2b) out[o++] = 0x20
    else if (c === 0x25 && i + 2 < to && isHex(buf[i + 1]) && isHex(buf[i + 2])) {
      out[o++] = (hexVal(buf[i + 1] as number) << 4) | hexVal(buf[i + 2] as number)
      i += 2
    } else out[o++] = c
  }
  return out.subarray(0, o)
}

function isHex (c: number | undefined): boolean {
  return c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))
}

function hexVal (c: number): number {
  return c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x57
}

/**
 * multipart/form-data -> name -> bytes. `messageFields` are read as raw file parts;
 * `maxBytes` bounds the sum of everything read (the multipart parser does not apply
 * Fastify's bodyLimit), and a part cut short by a limit is a 413, never a truncated message.
 */
export async function readMultipart (req: FastifyRequest, reply: FastifyReply, messageFields: string[], maxBytes: number): Promise<FormFields> {
  try {
    return await collectParts(req, messageFields, maxBytes)
  } catch (err) {
    // The rest of the body is left unread: close the connection after the answer (as
    // Fastify does for its bodyLimit), or the next request on it would wait behind it.
    reply.header('connection', 'close')
    // The parser's own limit errors carry their 413; anything else it throws is a body
    // that is not well-formed multipart (cut short, bad boundary): the sender's fault.
    if (typeof (err as { statusCode?: unknown }).statusCode === 'number') throw err
    throw new FormError(400, 'malformed multipart/form-data body')
  }
}

async function collectParts (req: FastifyRequest, messageFields: string[], maxBytes: number): Promise<FormFields> {
  const fields: FormFields = new Map()
  let total = 0
  const parts = req.parts({
    limits: { fieldSize: MAX_SMALL_FIELD, fields: MAX_FIELDS, files: 10, parts: MAX_FIELDS + 10, fileSize: maxBytes, headerPairs: 50, fieldNameSize: 200 },
    isPartAFile: (name: string, _type: string, filename: string | undefined) => filename !== undefined || messageFields.includes(name)
  } as Parameters<FastifyRequest['parts']>[0])
  const count = (n: number) => {
    total += n
    if (total > maxBytes) throw new FormError(413, 'request too large')
  }
  for await (const part of parts) {
    let value: Buffer
    if (part.type === 'file') {
      // Counted chunk by chunk: the sum is refused as soon as it passes the limit,
      // not after a whole part (up to fileSize) has been buffered or waited for.
      const chunks: Buffer[] = []
      for await (const chunk of part.file) {
        count((chunk as Buffer).length)
        chunks.push(chunk as Buffer)
      }
      if (part.file.truncated) throw new FormError(413, `form part ${part.fieldname} too large`)
      value = Buffer.concat(chunks)
    } else {
      if (part.valueTruncated || part.fieldnameTruncated) throw new FormError(413, `form field ${part.fieldname} too large`)
      value = Buffer.from(String(part.value), 'utf8')
      count(value.length)
    }
    if (!fields.has(part.fieldname)) fields.set(part.fieldname, value)
  }
  return fields
}

export function text (fields: FormFields, name: string): string | undefined {
  return fields.get(name)?.toString('utf8')
}
