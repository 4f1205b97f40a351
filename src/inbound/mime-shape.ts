// The web role refuses messages whose MIME structure is beyond what the worker will
// ever process (too many parts, too deep, a header block too large), with a clean
// answer instead of a queued job doomed to fail. One linear pass over the lines; the
// bounds are the worker's own (src/limits.ts), so nothing the worker would take is refused.
import { limits } from '../limits.js'

export type ShapeProblem = { status: 400 | 413, error: string }

const MAX_HEADER_BLOCK = limits.headerBytes * 4

export function checkMimeShape (raw: Buffer, max = { parts: limits.mimeParts, nesting: limits.nesting, headerBlock: MAX_HEADER_BLOCK }): ShapeProblem | undefined {
  const boundaries: string[] = [] // open multipart boundaries, innermost last
  let inHeader = true
  let headerBytes = 0
  let header = '' // the current entity's Content-Type, unfolded
  let collecting = false
  let parts = 0
  let pos = 0
  while (pos < raw.length) {
    let nl = raw.indexOf(0x0a, pos)
    if (nl === -1) nl = raw.length
    const end = nl > pos && raw[nl - 1] === 0x0d ? nl - 1 : nl
    if (inHeader) {
      headerBytes += nl + 1 - pos
      if (headerBytes > max.headerBlock) return { status: 413, error: 'header block too large' }
      if (end === pos) {
        inHeader = false
        const boundary = /;\s*boundary\s*=\s*(?:"([^"]{1,200})"|([^\s;"]{1,200}))/i.exec(header)
        if (/^\s*multipart\//i.test(header) && boundary !== null) {
          boundaries.push(boundary[1] ?? boundary[2] ?? '')
          if (boundaries.length > max.nesting) return { status: 400, error: 'MIME nesting too deep' }
        }
      } else {
        const first = raw[pos]
        if (first === 0x20 || first === 0x09) {
          if (collecting && header.length < 4096) header += raw.toString('latin1', pos, end)
        } else {
          collecting = raw.toString('latin1', pos, Math.min(end, pos + 13)).toLowerCase() === 'content-type:'
          if (collecting) header = raw.toString('latin1', pos + 13, Math.min(end, pos + 4096))
        }
      }
    } else if (boundaries.length > 0 && raw[pos] === 0x2d && raw[pos + 1] === 0x2d) {
      const line = raw.toString('latin1', pos + 2, Math.min(end, pos + 2 + 204)).trimEnd()
      const level = boundaries.lastIndexOf(line.endsWith('--') ? line.slice(0, -2) : line)
      if (level !== -1) {
        boundaries.length = level + 1
        if (line.endsWith('--') && boundaries[level] + '--' === line) {
          boundaries.pop()
        } else {
          parts++
          if (parts > max.parts) return { status: 400, error: 'too many MIME parts' }
          inHeader = true
          headerBytes = 0
          header = ''
          collecting = false
        }
      }
    }
    pos = nl + 1
  }
  return undefined
}
