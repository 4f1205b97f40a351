// The reply to a mail asking for the team's key: the key attached (application/pgp-keys),
// its fingerprint to compare, and where else to fetch it. The text is a template
// (templates/key-reply.txt) with our values only; nothing of the
// sender's echoed (see messages.ts). Signed by the caller (PGP/MIME) before it is sent.
import { formatFingerprint, messageId, reply, type MailMessage, type ReplyTarget } from './messages.js'
import { builtinTemplates, type Templates } from './templates.js'
import { keyserverUrl } from '../keys/hkp.js'

export interface KeyReplyInput {
  report: ReplyTarget
  intakeId: string
  from: string
  publicUrl: string
  securityEmail: string
  /** Upper-case hex fingerprint of the attached key. */
  fingerprint: string
  armoredKey: string
  development: boolean
  /** Autocrypt header value (addr=...; keydata=...). */
  autocrypt: string
  /** The text is templates/key-reply.txt (or its TEMPLATES_DIR override). */
  templates?: Templates
}

export function keyReply (input: KeyReplyInput): MailMessage {
  const base = input.publicUrl.replace(/\/+$/, '')
  const rendered = (input.templates ?? builtinTemplates()).render('key-reply', {
    intakeId: input.intakeId,
    fingerprint: formatFingerprint(input.fingerprint),
    fingerprintHex: input.fingerprint.replace(/[^0-9A-Fa-f]/g, ''),
    keyUrl: `${base}/pgp-key.asc`,
    securityTxtUrl: `${base}/.well-known/security.txt`,
    securityEmail: input.securityEmail,
    keyserver: keyserverUrl(base),
    publicUrl: base,
    warning: input.development ? 'WARNING: this gateway runs with a throw-away DEVELOPMENT key. Do not send real reports to it.' : ''
  })
  const message = reply(input.from, input.report, {
    subject: rendered.subject ?? 'Our OpenPGP key (Stacklok security team)',
    messageId: messageId('key', input.intakeId, input.from),
    text: rendered.text
  })
  return {
    ...message,
    headers: { ...message.headers, Autocrypt: input.autocrypt },
    attachments: [{ filename: 'security-team-key.asc', content: input.armoredKey, contentType: 'application/pgp-keys' }]
  }
}
