// One pino logger, JSON lines (what log shippers read; in production nothing else).
// Report text never reaches it; redact is the second line of defence for secrets that
// travel in objects we log (headers, config, SMTP URLs), and any credential written
// into a URL (smtp://user:pass@host) is masked wherever it appears in a line.
//
// Nothing here walks an object it does not know: request bodies are Buffers of up to
// 40 MiB, and a framework object (Fastify's request/reply, a socket, a stream) reaches
// them. req/res/err have explicit serializers that pick named scalar fields, and the
// scrubber descends into plain objects and arrays only, within a key and depth budget.
import { pino, type Logger } from 'pino'

export type { Logger }

export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-intake-signature"]',
  'req.headers["x-hub-signature-256"]',
  'req.headers["x-twilio-email-event-webhook-signature"]',
  'headers.authorization', 'headers.cookie',
  '*.authorization', '*.password', '*.passphrase', '*.token', '*.secret', '*.privateKey', '*.smtpUrl',
  '*.apiKey', '*.signingKey', '*.armored', '*.armoredSecret', '*.inboundSecret', '*.webhookSecret',
  'config.pgp', 'config.seal.privateKey', 'config.github.token', 'config.github.app',
  'config.smtpUrl', 'config.inboundSecret', 'config.mailgunSigningKey', 'config.inboundBasicAuth',
  'config.adminBasicAuth', 'config.githubWebhookSecret', 'config.dkim', 'config.discordWebhookUrl', 'config.notifyWebhookUrl',
  'body', 'raw', 'text', 'html', 'description', 'payload', 'subject',
  '*.body', '*.raw', '*.text', '*.html', '*.description', '*.payload', '*.subject'
]

/** Per log line: keys visited in total, nesting depth, characters of any one string. */
const SCRUB_BUDGET = { keys: 200, depth: 5, stringChars: 8192 }

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]+):([^\s/@]+)@/gi

/** `smtp://user:pass@host` -> `smtp://user:[redacted]@host`. */
export function maskUrlCredentials (text: string): string {
  return text.replace(URL_CREDENTIALS, '$1$2:[redacted]@')
}

function scrubString (s: string): string {
  const cut = s.length > SCRUB_BUDGET.stringChars ? `${s.slice(0, SCRUB_BUDGET.stringChars)}…[${s.length} chars]` : s
  return cut.includes('://') ? maskUrlCredentials(cut) : cut
}

function isPlain (value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown
  return proto === Object.prototype || proto === null
}

/** Bytes are never listed (a Buffer's entries are one key per byte): only their size. */
function bytesLabel (value: object): string | undefined {
  if (Buffer.isBuffer(value)) return `[Buffer ${value.length} bytes]`
  if (ArrayBuffer.isView(value)) return `[${value.constructor.name} ${value.byteLength} bytes]`
  if (value instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)) return `[${value.constructor.name} ${value.byteLength} bytes]`
  return undefined
}

/** The named scalar fields of an error, never its enumerable extras (Octokit's request/response carry bodies). */
function serializeError (value: unknown, depth = 0): unknown {
  if (!(value instanceof Error)) return scrubValue(value, { keys: SCRUB_BUDGET.keys }, 1)
  const e = value as Error & { code?: unknown, status?: unknown, statusCode?: unknown }
  const out: Record<string, unknown> = { type: e.name, message: scrubString(String(e.message)) }
  for (const k of ['code', 'status', 'statusCode'] as const) {
    const v = e[k]
    if (typeof v === 'string' || typeof v === 'number') out[k] = typeof v === 'string' ? scrubString(v) : v
  }
  if (typeof e.stack === 'string') out.stack = scrubString(e.stack)
  if (e.cause !== undefined && depth < 2) out.cause = serializeError(e.cause, depth + 1)
  return out
}

interface Budget { keys: number }

function scrubValue (value: unknown, budget: Budget, depth: number): unknown {
  if (typeof value === 'string') return scrubString(value)
  if (value === null || typeof value !== 'object') return value
  const bytes = bytesLabel(value)
  if (bytes !== undefined) return bytes
  if (value instanceof Error) return serializeError(value)
  if (value instanceof Date) return value
  if (depth > SCRUB_BUDGET.depth) return '[too deep]'
  if (Array.isArray(value)) return scrubArray(value, budget, depth)
  // A class instance (request, reply, socket, stream, Map, ...): its name, never its insides.
  if (!isPlain(value)) return `[${value.constructor?.name ?? 'object'}]`
  return scrubObject(value as Record<string, unknown>, budget, depth)
}

function scrubArray (value: unknown[], budget: Budget, depth: number): unknown[] {
  const n = Math.min(value.length, Math.max(budget.keys, 0))
  budget.keys -= n
  const out = value.slice(0, n).map((v) => scrubValue(v, budget, depth + 1))
  if (n < value.length) out.push(`[${value.length - n} more]`)
  return out
}

function scrubObject (value: Record<string, unknown>, budget: Budget, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const k in value) {
    if (!Object.hasOwn(value, k)) continue
    if (budget.keys-- <= 0) { out['[truncated]'] = true; break }
    out[k] = scrubValue(value[k], budget, depth + 1)
  }
  return out
}

type Fields = Record<string, unknown>

function field (obj: unknown, key: string): unknown {
  return obj !== null && typeof obj === 'object' ? (obj as Fields)[key] : undefined
}

function scalar (v: unknown): string | number | undefined {
  if (typeof v === 'number') return v
  return typeof v === 'string' ? scrubString(v.slice(0, 512)) : undefined
}

/** Fastify's request (or a plain object shaped like one): who asked what, never headers or body. */
function serializeReq (req: unknown): Fields {
  const headers = field(req, 'headers')
  return {
    method: scalar(field(req, 'method')),
    url: scalar(field(req, 'url')),
    route: scalar(field(field(req, 'routeOptions'), 'url')),
    id: scalar(field(req, 'id')),
    remoteAddress: scalar(field(req, 'ip')),
    contentLength: scalar(field(headers, 'content-length'))
  }
}

/** Fastify's reply: its status only (reply.request leads to the body). */
function serializeRes (res: unknown): Fields {
  return { statusCode: scalar(field(res, 'statusCode')) }
}

const serializers = { req: serializeReq, res: serializeRes, err: serializeError }

/**
 * The log formatter: scrubs every top-level field except those with a serializer (above)
 * (pino applies serializers after formatters; they read named fields only).
 */
function scrub (obj: Record<string, unknown>): Record<string, unknown> {
  const budget = { keys: SCRUB_BUDGET.keys }
  const out: Record<string, unknown> = {}
  for (const k in obj) {
    if (!Object.hasOwn(obj, k)) continue
    if (budget.keys-- <= 0) { out['[truncated]'] = true; break }
    out[k] = Object.hasOwn(serializers, k) ? obj[k] : scrubValue(obj[k], budget, 1)
  }
  return out
}

export function createLogger (opts: { level: string, production: boolean, destination?: pino.DestinationStream }): Logger {
  return pino({
    level: opts.level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: { service: 'security-intake' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Fastify merges its own req/res serializers under these; ours win (they are the logger's).
    serializers,
    formatters: { log: scrub },
    hooks: {
      logMethod (args, method) {
        method.apply(this, args.map((a) => typeof a === 'string' ? maskUrlCredentials(a) : a) as Parameters<typeof method>)
      }
    }
  }, opts.destination ?? pino.destination(1))
}
