// A real SMTP server on 127.0.0.1 that keeps every message it accepts, for tests that
// send mail. No TLS, any (or no) login accepted. A message is stored before the 250
// reply, so it is in `messages` by the time the client's send resolves.
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import type { SMTPServerEnvelope } from 'smtp-server'

export interface SinkMessage {
  envelope: SMTPServerEnvelope
  raw: Buffer
}

export interface SmtpSink {
  url: string
  port: number
  messages: SinkMessage[]
  close: () => Promise<void>
}

export interface SmtpSinkOptions {
  /** RCPT TO addresses refused with this SMTP code; the reply text quotes the address, as real servers do. */
  refuse?: Record<string, number>
  /** listen here (e.g. to bring a stopped sink back on its old port; default: any free port) */
  port?: number
  /** keep accepted messages here (shared across a restart) */
  messages?: SinkMessage[]
}

export async function startSmtpSink (opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: SinkMessage[] = opts.messages ?? []
  const server = new SMTPServer({
    onRcptTo (address, _session, callback) {
      const code = opts.refuse?.[address.address.toLowerCase()]
      if (code === undefined) { callback(); return }
      callback(Object.assign(new Error(`<${address.address}>: Recipient address rejected`), { responseCode: code }))
    },
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    disableReverseLookup: true, // a DNS PTR query per connection would time the sink, not the gateway
    closeTimeout: 200, // stop (and come back) at once in fault tests: open client connections are cut
    onAuth (_auth, _session, callback) {
      callback(null, { user: 'test' })
    },
    onData (stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('error', callback)
      stream.on('end', () => {
        messages.push({ envelope: structuredClone(session.envelope), raw: Buffer.concat(chunks) })
        callback()
      })
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  // smtp-server re-emits a client connection's socket errors on the server: a client
  // killed mid-session (fault tests SIGKILL the worker) resets its socket, and without a
  // listener that ECONNRESET would be an uncaught exception in the test process.
  server.on('error', () => {})
  const { port } = server.server.address() as AddressInfo
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}
