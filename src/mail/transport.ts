// Sends built messages: over SMTP when SMTP_URL is set, otherwise into the file outbox
// (`<outboxDir>/mail/*.eml`) so a zero-configuration start never loses a reply. The
// outbox file is named after the Message-ID, which messages.ts makes deterministic, so
// a retried job overwrites its earlier attempt instead of adding a duplicate.
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdir, open, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import nodemailer from 'nodemailer'
import type { SendMailOptions } from 'nodemailer'
import type { Config } from '../config.js'

export interface MailerLog {
  info: (obj: object, msg?: string) => void
}

export interface SentMail {
  messageId: string
  where: 'smtp' | 'outbox'
}

export interface Mailer {
  send: (message: SendMailOptions) => Promise<SentMail>
  close: () => void
}

export interface MailerOptions {
  smtpUrl?: string
  outboxDir: string
  log: MailerLog
  /** DKIM-sign every message (nodemailer's signer; relaxed/relaxed canonicalization, rsa-sha256 or ed25519-sha256). */
  dkim?: { domainName: string, keySelector: string, privateKey: string }
}

export function createMailer (opts: MailerOptions): Mailer {
  return opts.smtpUrl !== undefined && opts.smtpUrl !== ''
    ? smtpMailer(opts.smtpUrl, opts.log, opts.dkim)
    : outboxMailer(join(opts.outboxDir, 'mail'), opts.log, opts.dkim)
}

/** The mailer the configuration asks for (SMTP_URL or the outbox, DKIM_* when set): the worker's, and the CLI's. */
export function configuredMailer (config: Config, log: MailerLog): Mailer {
  return createMailer({ ...(config.smtpUrl !== undefined ? { smtpUrl: config.smtpUrl } : {}), outboxDir: config.outboxDir, log, ...dkimOptions(config) })
}

/** DKIM_PRIVATE_KEY holds the PEM itself or the path of a file holding it. */
export function dkimOptions (config: Config): { dkim?: { domainName: string, keySelector: string, privateKey: string } } {
  if (config.dkim === undefined) return {}
  const { privateKey, selector, domain } = config.dkim
  return { dkim: { domainName: domain, keySelector: selector, privateKey: privateKey.includes('-----BEGIN') ? privateKey : readDkimKeyFile(privateKey) } }
}

function readDkimKeyFile (path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    // Not fs's message: it quotes the "path", which is the key itself when one was pasted without its PEM armour.
    throw new Error(`DKIM_PRIVATE_KEY is neither a PEM key nor a readable file (${(err as NodeJS.ErrnoException).code ?? 'read error'})`)
  }
}

function smtpMailer (smtpUrl: string, log: MailerLog, dkim: MailerOptions['dkim']): Mailer {
  const target = smtpTarget(smtpUrl)
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    ...(dkim !== undefined ? { dkim } : {}),
    // Reused connections: MTAs delay their greeting (smtp-server 100 ms, postscreen
    // seconds) and TLS costs a handshake, so a connection per reply capped the worker at
    // ~30 replies/s with WORKER_CONCURRENCY=4 (measured, npm run bench).
    pool: true,
    maxConnections: 5,
    maxMessages: 100,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000
  })
  // The URL carries the password: only ever log where we connect.
  log.info({ host: target.host, port: target.port }, 'mail transport: smtp')
  return {
    async send (message) {
      const info = await transport.sendMail(message)
      return { messageId: info.messageId, where: 'smtp' }
    },
    close () {
      transport.close()
    }
  }
}

// new URL() puts the whole input (password included) on the error it throws: replace it.
export function smtpTarget (smtpUrl: string): { host: string, port: number } {
  let url: URL
  try {
    url = new URL(smtpUrl)
  } catch {
    throw new Error('SMTP_URL is not a valid URL')
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new Error('SMTP_URL must use smtp: or smtps:')
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'smtps:' ? 465 : 587
  return { host: url.hostname, port }
}

function outboxMailer (dir: string, log: MailerLog, dkim: MailerOptions['dkim']): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows', ...(dkim !== undefined ? { dkim } : {}) })
  log.info({ dir }, 'mail transport: outbox (no SMTP_URL)')
  return {
    async send (message) {
      const info = await transport.sendMail(message)
      const file = join(dir, `${fileStem(info.messageId)}.eml`)
      await writeAtomic(dir, file, info.message as Buffer)
      log.info({ messageId: info.messageId, file }, 'mail written to outbox')
      return { messageId: info.messageId, where: 'outbox' }
    },
    close () {
      transport.close()
    }
  }
}

/** A file name from a Message-ID; a hash suffix keeps ids that sanitise alike apart. */
export function fileStem (messageId: string | undefined): string {
  const id = (messageId ?? '').trim().replace(/^<|>$/g, '')
  const safe = id.replace(/[^A-Za-z0-9._@+-]/g, '_').replace(/^\.+/, '').slice(0, 150)
  if (safe === '') return `${Date.now()}-${randomBytes(4).toString('hex')}`
  if (safe === id) return safe
  return `${safe}-${createHash('sha256').update(id).digest('hex').slice(0, 12)}`
}

// Temp file in the same directory, fsync, rename: readers see the whole file or none.
async function writeAtomic (dir: string, file: string, data: Buffer): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`)
  try {
    const handle = await open(tmp, 'wx', 0o600)
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, file)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
}
