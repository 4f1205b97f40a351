// Messages built to cost memory: a compression bomb (small ciphertext, tens of MB of
// compressible text inside) and a large legitimate report. Generated here, no fixtures.
import * as openpgp from 'openpgp'
import { message, multipart, openpgpEncrypt, pgpMimeEncrypted, textPart, attachmentPart } from './gpg.js'

/**
 * Text that deflate shrinks about 200:1 (like the 60 MB in ~300 KB): a 2 KiB
 * block of varied log lines, repeated with a counter every few blocks.
 */
export function compressibleText (bytes: number): string {
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet']
  let seed = 7
  const next = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed }
  const lines: string[] = []
  for (let i = 0; i < 40; i++) lines.push(`${Array.from({ length: 8 }, () => words[next() % words.length]).join(' ')} ${next()}`)
  const block = lines.join('\n') + '\n'
  const parts: string[] = []
  let size = 0
  for (let n = 0; size < bytes; n++) {
    const piece = n % 16 === 0 ? `-- block ${n} --\n${block}` : block
    parts.push(piece)
    size += piece.length
  }
  return parts.join('').slice(0, bytes)
}

/** A PGP/MIME report whose plaintext is `bytes` of compressible text, zlib. */
export async function compressionBomb (to: openpgp.PublicKey, bytes: number, from = 'Bomber <bomber@example.net>'): Promise<Buffer> {
  const config = { preferredCompressionAlgorithm: openpgp.enums.compression.zlib }
  const ciphertext = await openpgpEncrypt(textPart(compressibleText(bytes)), { to: [to], config })
  return message({ from, subject: 'logs' }, pgpMimeEncrypted(ciphertext))
}

/** A legitimate large report: short text and a binary attachment of `bytes` (random, so incompressible). */
export function largeReport (bytes: number, text = 'Crash dump attached: heap overflow in the parser.\n', from = 'Big <big@example.net>'): Buffer {
  const content = Buffer.alloc(bytes)
  for (let i = 0; i < bytes; i += 4) content.writeUInt32LE((i * 2654435761) >>> 0, i)
  return message({ from, subject: 'large report' }, multipart('mixed', [textPart(text), attachmentPart({ filename: 'core.bin', content })]))
}

/** An HTML-only report of about `bytes`: tables, links and paragraphs, as mail clients write them. */
export function htmlReport (bytes: number, from = 'Html <html@example.net>'): Buffer {
  const row = (i: number): string => `<tr><td class="c${i % 7}"><a href="https://example.net/item/${i}">item ${i}</a></td><td><p style="margin:0">Value <b>${i * 31}</b> &amp; <i>note</i></p></td></tr>\n`
  const rows: string[] = []
  let size = 0
  for (let i = 0; size < bytes; i++) { const r = row(i); rows.push(r); size += r.length }
  const html = `<html><head><style>td{padding:2px}</style></head><body><p>Stored XSS in the table view, rows below.</p><table>${rows.join('')}</table></body></html>`
  return message({ from, subject: 'html report' }, `Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${html}`)
}
