// Requests as each provider sends them, built from their documented formats, byte for
// byte: form encoders that never decode the message as text, a Postmark JSON builder,
// and an SNS signer with a generated certificate (served by an injected fetch, since
// tests have no network).
import { createSign, randomBytes } from 'node:crypto'
import { generate } from 'selfsigned'
import { mailgunSignature } from '../../src/inbound/mailgun.js'
import type { SnsMessage } from '../../src/inbound/sns-verify.js'
import type { FetchText } from '../../src/inbound/sns-verify.js'

export interface FormPart { name: string, value: Buffer | string, filename?: string, contentType?: string }
export interface Request { payload: Buffer, headers: Record<string, string> }

/** multipart/form-data with parts carrying only Content-Disposition (as SendGrid's Sendlib does). */
export function multipartForm (parts: FormPart[], boundary = 'xYzZY'): Request {
  const chunks: Buffer[] = []
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.contentType !== undefined ? `Content-Type: ${p.contentType}\r\n` : ''}\r\n`))
    chunks.push(Buffer.isBuffer(p.value) ? p.value : Buffer.from(p.value))
    chunks.push(Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { payload: Buffer.concat(chunks), headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'user-agent': 'Sendlib/1.0' } }
}

/** application/x-www-form-urlencoded, every byte outside [A-Za-z0-9*-._] percent-escaped, space as '+'. */
export function urlencodedForm (parts: Array<{ name: string, value: Buffer | string }>): Request {
  const enc = (v: Buffer) => {
    let s = ''
    for (const b of v) s += b === 0x20 ? '+' : /[A-Za-z0-9*._-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : '%' + b.toString(16).toUpperCase().padStart(2, '0')
    return s
  }
  // Built in chunks: a 30 MB message would not fit one string concatenation comfortably.
  const pieces = parts.map((p) => Buffer.from(enc(Buffer.from(p.name)) + '=' + encBig(Buffer.isBuffer(p.value) ? p.value : Buffer.from(p.value), enc)))
  return { payload: Buffer.from(pieces.join('&')), headers: { 'content-type': 'application/x-www-form-urlencoded' } }
}

function encBig (v: Buffer, enc: (v: Buffer) => string): string {
  const out: string[] = []
  for (let i = 0; i < v.length; i += 65536) out.push(enc(v.subarray(i, i + 65536)))
  return out.join('')
}

export const MAILGUN_KEY = 'mailgun-signing-key-for-tests'

export function mailgunFields (raw: Buffer, opts: { key?: string, timestamp?: number, token?: string, recipient?: string, sender?: string } = {}) {
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000))
  const token = opts.token ?? randomBytes(25).toString('hex')
  return [
    { name: 'recipient', value: opts.recipient ?? 'security@stacklok.com' },
    { name: 'sender', value: opts.sender ?? 'reporter@example.org' },
    { name: 'from', value: 'Reporter <reporter@example.org>' },
    { name: 'subject', value: 'report' },
    { name: 'body-mime', value: raw },
    { name: 'timestamp', value: timestamp },
    { name: 'token', value: token },
    { name: 'signature', value: mailgunSignature(opts.key ?? MAILGUN_KEY, timestamp, token) }
  ]
}

export const BASIC = 'inbound:basic-auth-password'
export const basicHeader = (userPass = BASIC) => 'Basic ' + Buffer.from(userPass).toString('base64')

export function sendgridForm (raw: Buffer, opts: { envelopeTo?: string[], from?: string, spamScore?: string, spf?: string, dkim?: string } = {}): Request {
  const req = multipartForm([
    { name: 'dkim', value: opts.dkim ?? '{@example.org : pass}' },
    { name: 'email', value: raw },
    { name: 'to', value: 'security@stacklok.com' },
    { name: 'from', value: 'Reporter <reporter@example.org>' },
    { name: 'sender_ip', value: '192.0.2.10' },
    { name: 'envelope', value: JSON.stringify({ to: opts.envelopeTo ?? ['security@stacklok.com'], from: opts.from ?? 'reporter@example.org' }) },
    { name: 'subject', value: 'report' },
    { name: 'charsets', value: '{"to":"UTF-8","subject":"UTF-8","from":"UTF-8"}' },
    { name: 'SPF', value: opts.spf ?? 'pass' },
    ...(opts.spamScore !== undefined ? [{ name: 'spam_score', value: opts.spamScore }, { name: 'spam_report', value: 'Spam detection software...' }] : [])
  ])
  req.headers.authorization = basicHeader()
  return req
}

// --- Amazon SNS ---------------------------------------------------------------

export const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ses-inbound'
export const CERT_URL = 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem'

export interface SnsSigner {
  certPem: string
  fetches: string[]
  fetchText: FetchText
  sign: (m: Omit<SnsMessage, 'Signature' | 'SignatureVersion' | 'SigningCertURL'> & { SigningCertURL?: string }, version?: '1' | '2') => SnsMessage
}

export async function snsSigner (): Promise<SnsSigner> {
  const pems = await generate([{ name: 'commonName', value: 'sns.amazonaws.com' }], { keySize: 2048, algorithm: 'sha256' })
  const fetches: string[] = []
  return {
    certPem: pems.cert,
    fetches,
    fetchText: async (url) => {
      fetches.push(url)
      if (url === CERT_URL) return pems.cert
      if (url.includes('Action=ConfirmSubscription')) return '<ConfirmSubscriptionResponse/>'
      throw new Error(`no route to ${url} in tests`)
    },
    sign (m, version = '2') {
      const full = { ...m, SignatureVersion: version, SigningCertURL: m.SigningCertURL ?? CERT_URL } as SnsMessage
      const fields = m.Type === 'Notification' ? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] : ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type']
      let data = ''
      for (const f of fields) {
        const v = (full as unknown as Record<string, string | undefined>)[f]
        if (v !== undefined) data += `${f}\n${v}\n`
      }
      full.Signature = createSign(version === '1' ? 'RSA-SHA1' : 'RSA-SHA256').update(data).sign(pems.private, 'base64')
      return full
    }
  }
}

export function sesNotification (signer: SnsSigner, raw: Buffer, opts: { encoding?: 'BASE64' | 'UTF8', recipients?: string[], spam?: string, dmarc?: string, version?: '1' | '2', snsMessageId?: string, topic?: string, source?: string, timestamp?: string } = {}): Request {
  const encoding = opts.encoding ?? 'BASE64'
  const notification = {
    notificationType: 'Received',
    mail: { timestamp: '2026-11-28T10:00:00.000Z', source: opts.source ?? 'reporter@example.org', messageId: 'ses-' + (opts.snsMessageId ?? 'm1'), destination: opts.recipients ?? ['security@stacklok.com'], headersTruncated: false, headers: [] },
    receipt: {
      timestamp: '2026-11-28T10:00:00.000Z',
      processingTimeMillis: 300,
      recipients: opts.recipients ?? ['security@stacklok.com'],
      spamVerdict: { status: opts.spam ?? 'PASS' },
      virusVerdict: { status: 'PASS' },
      spfVerdict: { status: 'PASS' },
      dkimVerdict: { status: 'PASS' },
      dmarcVerdict: { status: opts.dmarc ?? 'PASS' },
      action: { type: 'SNS', topicArn: opts.topic ?? TOPIC, encoding }
    },
    content: encoding === 'BASE64' ? raw.toString('base64') : raw.toString('utf8')
  }
  const m = signer.sign({
    Type: 'Notification',
    MessageId: opts.snsMessageId ?? '22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324',
    TopicArn: opts.topic ?? TOPIC,
    Subject: 'Amazon SES Email Receipt Notification',
    Message: JSON.stringify(notification),
    Timestamp: opts.timestamp ?? new Date().toISOString() // SNS's time of signing: must be recent
  }, opts.version)
  return {
    payload: Buffer.from(JSON.stringify(m)),
    headers: { 'content-type': 'text/plain; charset=UTF-8', 'x-amz-sns-message-type': 'Notification', 'x-amz-sns-message-id': m.MessageId, 'x-amz-sns-topic-arn': m.TopicArn }
  }
}

export function postmarkJson (raw: Buffer | undefined, fields: Record<string, unknown> = {}): Request {
  const body = {
    FromName: 'Reporter',
    MessageStream: 'inbound',
    From: 'reporter@example.org',
    FromFull: { Email: 'reporter@example.org', Name: 'Reporter', MailboxHash: '' },
    To: 'security@stacklok.com',
    ToFull: [{ Email: 'security@stacklok.com', Name: '', MailboxHash: '' }],
    Cc: '',
    CcFull: [],
    Bcc: '',
    BccFull: [],
    OriginalRecipient: 'security@stacklok.com',
    Subject: 'Vulnerability report',
    MessageID: '73e6d360-66eb-11e1-8e72-a8904824019b',
    ReplyTo: '',
    MailboxHash: '',
    Date: 'Sat, 28 Nov 2026 10:00:00 +0000',
    TextBody: 'There is a path traversal.',
    HtmlBody: '',
    StrippedTextReply: '',
    Tag: '',
    Headers: [{ Name: 'X-Spam-Checker-Version', Value: 'SpamAssassin 3.3.1' }, { Name: 'X-Spam-Status', Value: 'No' }, { Name: 'X-Spam-Score', Value: '-0.1' }, { Name: 'Message-ID', Value: '<pm-1@example.org>' }],
    Attachments: [],
    ...(raw !== undefined ? { RawEmail: raw.toString('utf8') } : {}),
    ...fields
  }
  return { payload: Buffer.from(JSON.stringify(body)), headers: { 'content-type': 'application/json', authorization: basicHeader() } }
}
