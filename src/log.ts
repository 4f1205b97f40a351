// One pino logger, JSON lines (what log shippers read; in production nothing else).
// Report text never reaches it; redact is the second line of defence for secrets that
// travel in objects we log (headers, config, SMTP URLs), and any credential written
// into a URL (smtp://user:pass@host) is masked wherever it appears in a line.
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

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]+):([^\s/@]+)@/gi

/** `smtp://user:pass@host` -> `smtp://user:[redacted]@host`. */
export function maskUrlCredentials (text: string): string {
  return text.replace(URL_CREDENTIALS, '$1$2:[redacted]@')
}

function scrub (value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.includes('://') ? maskUrlCredentials(value) : value
  if (depth > 4 || value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1)
  return out
}

export function createLogger (opts: { level: string, production: boolean, destination?: pino.DestinationStream }): Logger {
  return pino({
    level: opts.level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: { service: 'security-intake' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { log: (obj) => scrub(obj, 0) as Record<string, unknown> },
    hooks: {
      logMethod (args, method) {
        method.apply(this, args.map((a) => typeof a === 'string' ? maskUrlCredentials(a) : a) as Parameters<typeof method>)
      }
    }
  }, opts.destination ?? pino.destination(1))
}
