// One pino logger. Report text never reaches it; redact is the second line of defence
// for secrets that travel in objects we log (headers, config, SMTP URLs).
import { pino, type Logger } from 'pino'

export type { Logger }

export const redactPaths = [
  'req.headers.authorization',
  'req.headers["x-intake-signature"]',
  'headers.authorization',
  '*.password', '*.passphrase', '*.token', '*.secret', '*.privateKey', '*.smtpUrl',
  'config.pgp', 'config.seal.privateKey', 'config.github.token', 'config.github.app',
  'config.smtpUrl', 'config.inboundSecret', 'config.mailgunSigningKey', 'config.inboundBasicAuth',
  'config.adminBasicAuth', 'config.githubWebhookSecret', 'config.dkim', 'config.discordWebhookUrl', 'config.notifyWebhookUrl',
  'body', 'raw', 'text', 'html', 'description'
]

export function createLogger (opts: { level: string, production: boolean, destination?: pino.DestinationStream }): Logger {
  return pino({
    level: opts.level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    base: { service: 'security-intake' },
    timestamp: pino.stdTimeFunctions.isoTime
  }, opts.destination ?? pino.destination(1))
}
