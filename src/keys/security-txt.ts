// RFC 9116 security.txt, generated (never a hand-edited date that silently expires) and
// cleartext-signed with the team key. The worker signs it, because it holds the key; the
// web role only serves the signed text it finds in Redis (see publisher.ts).
import { createCleartextMessage, sign, type PrivateKey } from 'openpgp'
import { pgpConfig } from '../pgp/openpgp-config.js'

export interface SecurityTxtInput {
  securityEmail: string
  publicUrl: string
  /** Upper- or lower-case hex fingerprint of the primary published key. */
  fingerprint: string
  keyExpires?: Date
  policyUrl?: string
  acknowledgmentsUrl?: string
  preferredLanguages: string
  /** Days ahead for Expires (at most 365); the key's expiry caps it. */
  expiresDays: number
  now: Date
  development: boolean
}

const DAY_MS = 86_400_000

/** RFC 9116 2.5.5: less than a year ahead, and never after the key the file points to expires. */
export function securityTxtExpires (now: Date, expiresDays: number, keyExpires?: Date): Date {
  const days = Math.min(Math.max(expiresDays, 1), 365)
  let at = now.getTime() + days * DAY_MS
  if (keyExpires !== undefined) at = Math.min(at, keyExpires.getTime())
  return new Date(Math.floor(at / 1000) * 1000) // whole seconds, never rounded up past the key's expiry
}

export function rfc3339 (date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function securityTxtBody (input: SecurityTxtInput): string {
  const base = input.publicUrl.replace(/\/+$/, '')
  const expires = securityTxtExpires(input.now, input.expiresDays, input.keyExpires)
  const lines = [
    ...(input.development ? ['# DEVELOPMENT KEY: this gateway runs with a throw-away key. Do not send real reports.'] : []),
    '# Security contact for vulnerability reports. Encrypt with the key below;',
    '# to get it by e-mail, write to the Contact address asking for our public key.',
    `Contact: mailto:${input.securityEmail}`,
    `Expires: ${rfc3339(expires)}`,
    `Encryption: ${base}/pgp-key.asc`,
    `Encryption: openpgp4fpr:${input.fingerprint.toLowerCase()}`,
    ...(input.acknowledgmentsUrl === undefined ? [] : [`Acknowledgments: ${input.acknowledgmentsUrl}`]),
    `Preferred-Languages: ${input.preferredLanguages}`,
    `Canonical: ${base}/.well-known/security.txt`,
    `Canonical: ${base}/security.txt`,
    ...(input.policyUrl === undefined ? [] : [`Policy: ${input.policyUrl}`])
  ]
  return lines.join('\n') + '\n'
}

/** The cleartext-signed file (RFC 9580 7, what `gpg --clearsign` makes). */
export async function signSecurityTxt (body: string, signingKey: PrivateKey): Promise<string> {
  const message = await createCleartextMessage({ text: body })
  return await sign({ message, signingKeys: signingKey, format: 'armored', config: pgpConfig() })
}

export interface ParsedSecurityTxt {
  signed: boolean
  /** Field name as written -> values, in order. */
  fields: Array<{ name: string, value: string }>
  errors: string[]
  expires?: Date
}

/**
 * A reader of RFC 9116 files: ours (to check expiry before serving it) and, in tests, as
 * a client would read it. Unknown fields are ignored, as the RFC asks readers to.
 */
export function parseSecurityTxt (text: string, now = new Date()): ParsedSecurityTxt {
  const errors: string[] = []
  let body = text
  const signed = text.startsWith('-----BEGIN PGP SIGNED MESSAGE-----')
  if (signed) {
    const start = text.indexOf('\n\n', text.indexOf('-----BEGIN PGP SIGNED MESSAGE-----'))
    const end = text.indexOf('\n-----BEGIN PGP SIGNATURE-----')
    if (start < 0 || end < 0) return { signed, fields: [], errors: ['malformed cleartext signature'] }
    body = text.slice(start + 2, end).split('\n').map((l) => l.startsWith('- ') ? l.slice(2) : l).join('\n')
  }
  const fields: ParsedSecurityTxt['fields'] = []
  for (const [i, raw] of body.split(/\r?\n/).entries()) {
    const line = raw.trimEnd()
    if (line === '' || line.startsWith('#')) continue
    const colon = line.indexOf(':')
    if (colon <= 0 || line[colon + 1] !== ' ') { errors.push(`line ${i + 1}: not "Field: value"`); continue }
    fields.push({ name: line.slice(0, colon), value: line.slice(colon + 2) })
  }
  const values = (name: string) => fields.filter((f) => f.name.toLowerCase() === name).map((f) => f.value)
  if (values('contact').length === 0) errors.push('Contact is required')
  for (const c of values('contact')) if (!/^(mailto:|https:|tel:)/i.test(c)) errors.push(`Contact "${c}" is not a mailto:, https: or tel: URI`)
  const exp = values('expires')
  let expires: Date | undefined
  if (exp.length !== 1) errors.push('Expires must appear exactly once')
  else {
    const v = exp[0] as string
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) || Number.isNaN(Date.parse(v))) errors.push('Expires is not an RFC 3339 date-time')
    else {
      expires = new Date(v)
      if (expires.getTime() <= now.getTime()) errors.push('Expires is in the past')
      if (expires.getTime() - now.getTime() > 365 * DAY_MS) errors.push('Expires is more than a year ahead')
    }
  }
  if (values('preferred-languages').length > 1) errors.push('Preferred-Languages must appear at most once')
  for (const name of ['policy', 'acknowledgments', 'hiring', 'canonical']) {
    for (const v of values(name)) if (!/^https?:\/\//i.test(v)) errors.push(`${name} "${v}" is not a web URI`)
  }
  for (const v of values('encryption')) {
    if (/BEGIN PGP/.test(v)) errors.push('Encryption must be a URI, not the key itself')
    else if (!/^(https?:\/\/|openpgp4fpr:[0-9a-f]{40}$|dns:)/i.test(v)) errors.push(`Encryption "${v}" is not a key URI`)
  }
  return { signed, fields, errors, ...(expires === undefined ? {} : { expires }) }
}
