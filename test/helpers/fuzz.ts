// Shared pieces of the fast-check suites: the outcome invariant (every input ends
// processed or with a ReportError that names a reason, within a hang guard), the seed,
// and generators for hostile MIME structure.
import fc from 'fast-check'
import { ReportError } from '../../src/domain/errors.js'
import type { OpenedReport } from '../../src/domain/report.js'
import { quotedPrintable } from './gpg.js'

/** Fixed by default so CI is deterministic; FUZZ_SEED=<n> explores other corners. */
export const SEED = Number(process.env.FUZZ_SEED ?? 20261128)
/** FUZZ_SCALE=10 multiplies every run count, for a longer local hunt. */
export const SCALE = Number(process.env.FUZZ_SCALE ?? 1)

const CODES = new Set(['undecryptable', 'unauthenticated', 'tampered', 'too-large', 'unparsable'])
/** A hang guard, not a performance assertion: no single input may take this long. */
const HANG_MS = 20_000

export type Outcome = { kind: 'processed', report: OpenedReport } | { kind: 'quarantined', code: string, reason: string }

/**
 * Runs openReport (or any opener) on one input and classifies the result. Anything but
 * a report or a ReportError with a known code and a reason is a bug: it is rethrown, so
 * fast-check records (and shrinks) the input that caused it.
 */
export async function outcome (run: () => Promise<OpenedReport>): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined
  const hang = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`no outcome within ${HANG_MS} ms`)), HANG_MS) })
  try {
    const report = await Promise.race([run(), hang])
    if (typeof report.text !== 'string' || !Array.isArray(report.attachments)) throw new Error('opened report is malformed')
    return { kind: 'processed', report }
  } catch (err) {
    if (err instanceof ReportError) {
      if (!CODES.has(err.code) || err.message.trim() === '') throw new Error(`ReportError without a usable reason: ${err.code}`)
      return { kind: 'quarantined', code: err.code, reason: err.message }
    }
    throw err
  } finally {
    clearTimeout(timer)
  }
}

// --- MIME ----------------------------------------------------------------------------

export interface Leaf {
  kind: 'leaf'
  type: string
  charset: string | undefined
  encoding: string | undefined
  /** apply the declared encoding (true) or send the bytes as they are (mismatch) */
  encode: boolean
  body: Uint8Array
  filename: string | undefined
  disposition: string | undefined
}
export interface Multi {
  kind: 'multi'
  subtype: string
  boundary: string | undefined
  parts: Node[]
  preamble: string
  close: boolean
}
export type Node = Leaf | Multi

const charsets = ['utf-8', 'UTF-8', 'us-ascii', 'iso-8859-1', 'windows-1252', 'utf-16', 'utf-16le', 'koi8-r', 'shift_jis', 'gb2312', 'iso-2022-jp', 'x-unknown', '', '"utf-8"', 'utf-7']
const encodings = ['7bit', '8bit', 'binary', 'base64', 'BASE64', 'quoted-printable', 'x-uuencode', 'bogus', '']
const leafTypes = ['text/plain', 'text/html', 'application/octet-stream', 'application/pgp-encrypted', 'application/pgp-signature', 'application/pgp-keys', 'message/rfc822', 'text/calendar', 'image/png', 'text/enriched', '', 'text']
const subtypes = ['mixed', 'alternative', 'related', 'signed', 'encrypted', 'report', 'digest', 'x-weird']

const bodyBytes = fc.oneof(
  fc.string({ maxLength: 400 }).map((s) => new TextEncoder().encode(s)),
  fc.string({ unit: 'grapheme', maxLength: 200 }).map((s) => new TextEncoder().encode(s)),
  fc.uint8Array({ maxLength: 400 }),
  fc.constantFrom('-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA\r\n-----END PGP MESSAGE-----\r\n', '<html><head><style>x</style></head><body><!-- c --><p>hi</body>', '=?utf-8?B?SGk=?=', '\r\n.\r\n', '--\r\n').map((s) => new TextEncoder().encode(s))
)

export const leaf: fc.Arbitrary<Leaf> = fc.record({
  kind: fc.constant('leaf' as const),
  type: fc.constantFrom(...leafTypes),
  charset: fc.option(fc.constantFrom(...charsets), { nil: undefined }),
  encoding: fc.option(fc.constantFrom(...encodings), { nil: undefined }),
  encode: fc.boolean(),
  body: bodyBytes,
  filename: fc.option(fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('poc.sh', 'report.asc', 'data.gpg', '../../etc/passwd', 'a"b.txt', '=?utf-8?Q?x=C3=A9?=.txt')), { nil: undefined }),
  disposition: fc.option(fc.constantFrom('inline', 'attachment', 'form-data', ''), { nil: undefined })
})

const boundary = fc.option(fc.oneof(
  fc.stringMatching(/^[0-9A-Za-z'()+_,./:=? -]{1,70}$/),
  fc.string({ maxLength: 80 }),
  fc.constantFrom('', ' ', '--', 'a', '"quoted"', 'x'.repeat(200))
), { nil: undefined })

export const tree: fc.Arbitrary<Node> = fc.letrec<{ node: Node, multi: Multi }>((tie) => ({
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('multi')),
  multi: fc.record({
    kind: fc.constant('multi' as const),
    subtype: fc.constantFrom(...subtypes),
    boundary,
    parts: fc.array(tie('node'), { maxLength: 4 }),
    preamble: fc.constantFrom('', 'This is a multi-part message in MIME format.', '--not-a-boundary'),
    close: fc.boolean()
  })
})).node

/** A chain of multiparts deeper than any limit. */
export const deep: fc.Arbitrary<Node> = fc.tuple(fc.integer({ min: 6, max: 40 }), leaf, fc.boolean()).map(([depth, inner, sameBoundary]) => {
  let node: Node = inner
  for (let i = 0; i < depth; i++) node = { kind: 'multi', subtype: i % 3 === 0 ? 'mixed' : 'alternative', boundary: sameBoundary ? 'b' : `b${i}`, parts: [node], preamble: '', close: true }
  return node
})

export interface MessageShape {
  root: Node
  from: string | undefined
  subject: string
  extraHeaders: Array<[string, string]>
  lf: boolean
  fold: number[]
  truncateAt: number | undefined
  flips: Array<[number, number]>
}

export const headerText = fc.oneof(
  fc.string({ maxLength: 120 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.tuple(fc.constantFrom('utf-8', 'iso-8859-1', 'x-bogus', 'utf-16'), fc.constantFrom('B', 'Q', 'b', 'X'), fc.string({ maxLength: 40 })).map(([cs, enc, s]) => `=?${cs}?${enc}?${enc.toUpperCase() === 'B' ? Buffer.from(s).toString('base64') : s}?=`)
)

export const messageShape = (root: fc.Arbitrary<Node>): fc.Arbitrary<MessageShape> => fc.record({
  root,
  from: fc.option(fc.oneof(fc.constantFrom('Reporter <reporter@example.net>', 'a@b.c', '"Quoted, Name" <q@example.org>', '<>', 'undisclosed-recipients:;', '=?utf-8?B?QWRh?= <ada@example.net>'), headerText), { nil: undefined }),
  subject: headerText,
  extraHeaders: fc.array(fc.tuple(fc.constantFrom('Reply-To', 'References', 'In-Reply-To', 'Auto-Submitted', 'Autocrypt', 'Content-ID', 'Received', 'X-Loop', 'Precedence', 'List-Id', 'Return-Path', 'Date'), headerText), { maxLength: 4 }),
  lf: fc.boolean(),
  fold: fc.array(fc.nat(200), { maxLength: 4 }),
  truncateAt: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined, freq: 4 }),
  flips: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 255 })), { maxLength: 3 })
})

/** Serializes a shape into raw bytes, then applies its truncation and byte flips. */
export function render (shape: MessageShape): Buffer {
  const nl = shape.lf ? '\n' : '\r\n'
  const headers = [
    ...(shape.from === undefined ? [] : [`From: ${shape.from}`]),
    'To: security@example.org',
    `Subject: ${shape.subject}`,
    'Message-ID: <fuzz@example.net>',
    'MIME-Version: 1.0',
    ...shape.extraHeaders.map(([k, v]) => `${k}: ${v}`)
  ].map((h) => fold(h.replace(/[\r\n]/g, ' '), shape.fold, nl))
  const raw = Buffer.concat([Buffer.from(headers.join(nl) + nl), renderNode(shape.root, nl)])
  let out = shape.truncateAt === undefined ? raw : raw.subarray(0, Math.floor(raw.length * shape.truncateAt))
  if (shape.flips.length > 0 && out.length > 0) {
    out = Buffer.from(out)
    for (const [at, xor] of shape.flips) {
      const i = Math.min(out.length - 1, Math.floor(at * out.length))
      out[i] = (out[i] as number) ^ xor
    }
  }
  return out
}

function fold (line: string, at: number[], nl: string): string {
  let out = line
  for (const p of [...at].sort((a, b) => b - a)) {
    if (p > 0 && p < out.length) out = `${out.slice(0, p)}${nl}${p % 2 === 0 ? ' ' : '\t'}${out.slice(p)}`
  }
  return out
}

function renderNode (node: Node, nl: string): Buffer {
  if (node.kind === 'leaf') {
    const params = [node.type === '' ? 'text/plain' : node.type, ...(node.charset === undefined ? [] : [`charset=${node.charset}`]), ...(node.filename === undefined ? [] : [`name="${node.filename.replace(/[\r\n"]/g, '')}"`])]
    const head = [
      `Content-Type: ${params.join('; ')}`,
      ...(node.encoding === undefined ? [] : [`Content-Transfer-Encoding: ${node.encoding}`]),
      ...(node.disposition === undefined ? [] : [`Content-Disposition: ${node.disposition}${node.filename === undefined ? '' : `; filename="${node.filename.replace(/[\r\n"]/g, '')}"`}`])
    ]
    return Buffer.concat([Buffer.from(head.join(nl) + nl + nl), encodeBody(node, nl), Buffer.from(nl)])
  }
  const b = node.boundary
  const type = `Content-Type: multipart/${node.subtype}${b === undefined ? '' : `; boundary="${b.replace(/[\r\n"]/g, '')}"`}${node.subtype === 'signed' ? '; protocol="application/pgp-signature"' : node.subtype === 'encrypted' ? '; protocol="application/pgp-encrypted"' : ''}`
  const delim = `--${(b ?? '').replace(/[\r\n"]/g, '')}`
  const pieces: Buffer[] = [Buffer.from(type + nl + nl + node.preamble + nl)]
  for (const part of node.parts) pieces.push(Buffer.from(delim + nl), renderNode(part, nl))
  if (node.close) pieces.push(Buffer.from(`${delim}--${nl}`))
  return Buffer.concat(pieces)
}

function encodeBody (node: Leaf, nl: string): Buffer {
  const body = Buffer.from(node.body)
  if (!node.encode) return body
  const enc = (node.encoding ?? '').toLowerCase()
  if (enc === 'base64') return Buffer.from(body.toString('base64').replace(/.{76}/g, `$&${nl}`))
  if (enc === 'quoted-printable') return Buffer.from(quotedPrintable(body.toString('utf8')).replace(/\r\n/g, nl))
  return body
}

// --- OpenPGP ---------------------------------------------------------------------------

export interface PgpBase {
  name: string
  binary: Uint8Array
  /** what the untouched message must come to */
  expect: 'processed' | 'undecryptable' | 'unauthenticated' | 'too-large' | 'any'
  /** relative frequency in the run (expensive bases are rare) */
  weight: number
}

export const pgpMutation = (bases: number) => fc.record({
  base: fc.nat(bases - 1),
  op: fc.constantFrom('none', 'truncate', 'flip', 'splice', 'duplicate', 'prefix', 'armor-damage'),
  at: fc.double({ min: 0, max: 1, noNaN: true }),
  bits: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.nat(7)), { minLength: 1, maxLength: 8 }),
  junk: fc.uint8Array({ minLength: 1, maxLength: 64 }),
  wrapper: fc.constantFrom('pgp-mime', 'pgp-mime-binary', 'exchange', 'inline-8bit', 'inline-qp', 'inline-base64', 'attachment-asc', 'attachment-gpg')
})
export type PgpMutation = { base: number, op: string, at: number, bits: Array<[number, number]>, junk: Uint8Array, wrapper: string }

/** The mutated OpenPGP bytes, and whether they are still the untouched message. */
export function mutate (binary: Uint8Array, m: PgpMutation): { bytes: Buffer, intact: boolean } {
  const b = Buffer.from(binary)
  const at = Math.min(b.length - 1, Math.floor(m.at * b.length))
  switch (m.op) {
    case 'truncate': return { bytes: b.subarray(0, at), intact: false }
    case 'flip': {
      const out = Buffer.from(b)
      for (const [where, bit] of m.bits) {
        const i = Math.min(out.length - 1, Math.floor(where * out.length))
        out[i] = (out[i] as number) ^ (1 << bit)
      }
      return { bytes: out, intact: out.equals(b) }
    }
    case 'splice': return { bytes: Buffer.concat([b.subarray(0, at), Buffer.from(m.junk), b.subarray(at + m.junk.length)]), intact: false }
    case 'duplicate': return { bytes: Buffer.concat([b, b]), intact: false }
    case 'prefix': return { bytes: Buffer.concat([Buffer.from(m.junk), b]), intact: false }
    default: return { bytes: b, intact: true }
  }
}
