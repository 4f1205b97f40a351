// The reply to a mail asking for the team's key: the key attached (application/pgp-keys),
// its fingerprint to compare, and where else to fetch it. Fixed text, nothing of the
// sender's echoed (see messages.ts). Signed by the caller (PGP/MIME) before it is sent.
import { formatFingerprint, messageId, reply, wrap, type MailMessage, type ReplyTarget } from './messages.js'

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
}

export function keyReply (input: KeyReplyInput): MailMessage {
  const base = input.publicUrl.replace(/\/+$/, '')
  const text = [
    'Hello,',
    '',
    ...(input.development ? [...wrap('WARNING: this gateway runs with a throw-away DEVELOPMENT key. Do not send real reports to it.'), ''] : []),
    ...wrap('You asked for the OpenPGP key of the Stacklok security team. It is attached to this message (security-team-key.asc), and this message is signed with it.'),
    '',
    `  Fingerprint: ${formatFingerprint(input.fingerprint)}`,
    '',
    ...wrap('Please compare the fingerprint with one from another source before you rely on the key. The same key is published at:'),
    '',
    `  ${base}/pgp-key.asc`,
    `  ${base}/.well-known/security.txt (signed)`,
    `  Web Key Directory: gpg --locate-keys ${input.securityEmail}`,
    `  Keyserver: gpg --keyserver ${hkp(base)} --recv-keys ${input.fingerprint}`,
    '',
    ...wrap('To encrypt your report with GnuPG:'),
    '',
    '  gpg --import security-team-key.asc',
    `  gpg --armor --encrypt --recipient ${input.fingerprint} report.txt`,
    '',
    ...wrap(`Then send the contents of report.txt.asc (or attach it) to ${input.securityEmail}. If this message was not sent in reply to a request of yours, you can ignore it.`),
    '',
    '-- ',
    'Stacklok security team (automatic message)'
  ].join('\n')
  const message = reply(input.from, input.report, {
    subject: 'Our OpenPGP key (Stacklok security team)',
    messageId: messageId('key', input.intakeId, input.from),
    text
  })
  return {
    ...message,
    headers: { ...message.headers, Autocrypt: input.autocrypt },
    attachments: [{ filename: 'security-team-key.asc', content: input.armoredKey, contentType: 'application/pgp-keys' }]
  }
}

function hkp (base: string): string {
  const url = new URL(base)
  return url.protocol === 'https:' ? `hkps://${url.host}` : `hkp://${url.host}`
}
