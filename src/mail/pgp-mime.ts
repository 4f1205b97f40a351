// RFC 3156 PGP/MIME for the mail the gateway writes: signed (multipart/signed) or signed
// and encrypted (multipart/encrypted), plus the Autocrypt header that hands our key to
// the reporter's client. nodemailer composes the ordinary message first; we then move its
// Content-* headers and body into the protected entity and wrap it, so attachments,
// charsets and transfer encodings stay nodemailer's job. The result is a raw message
// that any nodemailer transport (and DKIM) sends as is.
import { randomBytes } from 'node:crypto'
import MailComposer from 'nodemailer/lib/mail-composer'
import * as openpgp from 'openpgp'
import type { PrivateKey, PublicKey } from 'openpgp'
import type { MailMessage } from './messages.js'

/** A finished message: hand it to Mailer.send (nodemailer accepts `raw` + `envelope`). */
export interface RawMail {
  envelope: { from: string, to: string[] }
  messageId: string
  raw: Buffer
}

export interface EncryptOptions {
  signingKey: PrivateKey
  /** The reporter's key and our own (so the team can read what it sent). */
  encryptionKeys: PublicKey[]
}

const CRLF = '\r\n'

/** multipart/signed with a detached signature over the exact bytes of the first part. */
export async function signMime (message: MailMessage, signingKey: PrivateKey): Promise<RawMail> {
  const { outer, entity } = await splitComposed(message)
  // openpgp's own armoring: it adds the CRC line GnuPG 2.2 still expects for v4 packets.
  const armored = await openpgp.sign({
    message: await openpgp.createMessage({ binary: entity }),
    signingKeys: signingKey,
    detached: true,
    format: 'armored'
  })
  const micalg = await micalgOf(armored)
  const boundary = newBoundary()
  const body = Buffer.concat([
    Buffer.from(`This is an OpenPGP/MIME signed message (RFC 4880 and 3156)${CRLF}--${boundary}${CRLF}`),
    entity,
    Buffer.from(`${CRLF}--${boundary}${CRLF}` +
      `Content-Type: application/pgp-signature; name="signature.asc"${CRLF}` +
      `Content-Description: OpenPGP digital signature${CRLF}` +
      `Content-Disposition: attachment; filename="signature.asc"${CRLF}${CRLF}` +
      toCrlf(armored) +
      `${CRLF}--${boundary}--${CRLF}`)
  ])
  const contentType = `multipart/signed; micalg=${micalg}; protocol="application/pgp-signature"; boundary="${boundary}"`
  return finish(message, outer, contentType, body)
}

/** multipart/encrypted: the whole entity, signed inside, encrypted to every key given. */
export async function encryptMime (message: MailMessage, opts: EncryptOptions): Promise<RawMail> {
  if (opts.encryptionKeys.length === 0) throw new Error('encryptMime needs at least one encryption key')
  const { outer, entity } = await splitComposed(message)
  const armored = await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: entity }),
    encryptionKeys: opts.encryptionKeys,
    signingKeys: opts.signingKey,
    format: 'armored'
  })
  const boundary = newBoundary()
  const body = Buffer.from(
    `This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)${CRLF}--${boundary}${CRLF}` +
    `Content-Type: application/pgp-encrypted${CRLF}Content-Description: PGP/MIME version identification${CRLF}${CRLF}` +
    `Version: 1${CRLF}${CRLF}--${boundary}${CRLF}` +
    `Content-Type: application/octet-stream; name="encrypted.asc"${CRLF}` +
    `Content-Description: OpenPGP encrypted message${CRLF}` +
    `Content-Disposition: inline; filename="encrypted.asc"${CRLF}${CRLF}` +
    toCrlf(armored) +
    `${CRLF}--${boundary}--${CRLF}`)
  const contentType = `multipart/encrypted; protocol="application/pgp-encrypted"; boundary="${boundary}"`
  return finish(message, outer, contentType, body)
}

/**
 * The Autocrypt Level 1 header value for `address`: our key cut down to the user ID for
 * that address (when it has one) so the header stays small, base64 folded for the header.
 */
export function autocryptHeader (address: string, key: PublicKey): string {
  const wanted = address.toLowerCase()
  // Every mail we send carries it: made once per key and address (a key object is not
  // changed once loaded; a new team key is a new object).
  let byAddress = autocryptCache.get(key)
  if (byAddress === undefined) autocryptCache.set(key, byAddress = new Map())
  let value = byAddress.get(wanted)
  if (value === undefined) byAddress.set(wanted, value = autocryptValue(wanted, key))
  return value
}

const autocryptCache = new WeakMap<PublicKey, Map<string, string>>()

function autocryptValue (wanted: string, key: PublicKey): string {
  // Re-read rather than mutate: the caller's key object stays untouched.
  const packets = key.toPublic().toPacketList()
  const minimal = new openpgp.PublicKey(packets)
  const matching = minimal.users.filter(user => user.userID?.email.toLowerCase() === wanted)
  if (matching.length > 0) minimal.users = matching
  const keydata = Buffer.from(minimal.write()).toString('base64')
  return `addr=${wanted}; prefer-encrypt=mutual; keydata=${keydata}`
}

/** The same value folded for a raw header line (keydata may contain folding whitespace). */
function foldAutocrypt (value: string): string {
  const [head, keydata = ''] = value.split('keydata=')
  const lines = keydata.match(/.{1,76}/g) ?? []
  return `${head ?? ''}keydata=${CRLF} ${lines.join(`${CRLF} `)}`
}

interface Composed {
  /** Header block of the composed message without Content-* and MIME-Version. */
  outer: string
  /** The protected entity: Content-* headers, blank line, body; CRLF throughout. */
  entity: Buffer
}

async function splitComposed (message: MailMessage): Promise<Composed> {
  const { headers, text, ...rest } = message
  const { Autocrypt: autocrypt, ...others } = headers
  const built = await new MailComposer({
    ...rest,
    headers: {
      ...others,
      // Prepared: nodemailer would otherwise re-encode or fold it in the middle of a token.
      ...(autocrypt !== undefined ? { Autocrypt: { prepared: true, value: foldAutocrypt(autocrypt) } } : {})
    },
    // Quoted-printable keeps trailing spaces and long lines intact in transit, which a
    // signature over the exact bytes needs (RFC 3156 section 3).
    text: { content: text, contentTransferEncoding: 'quoted-printable' }
  }).compile().build()
  // Canonical CRLF before signing: transports would turn bare LFs into CRLF after us.
  const composed = Buffer.from(built.toString('latin1').replace(/\r?\n/g, CRLF), 'latin1')
  const split = composed.indexOf('\r\n\r\n')
  if (split < 0) throw new Error('composed message has no body')
  const headerLines = unfoldedFields(composed.subarray(0, split).toString('latin1'))
  const isContent = (field: string): boolean => /^(content-[a-z-]+|mime-version):/i.test(field)
  const content = headerLines.filter(f => /^content-/i.test(f))
  const outer = headerLines.filter(f => !isContent(f)).join(CRLF)
  const entity = Buffer.concat([Buffer.from(content.join(CRLF) + CRLF + CRLF, 'latin1'), composed.subarray(split + 4)])
  return { outer, entity }
}

/** Header fields with their continuation lines kept together (still folded). */
function unfoldedFields (block: string): string[] {
  const fields: string[] = []
  for (const line of block.split(CRLF)) {
    if (/^[ \t]/.test(line) && fields.length > 0) fields[fields.length - 1] += CRLF + line
    else fields.push(line)
  }
  return fields
}

function finish (message: MailMessage, outer: string, contentType: string, body: Buffer): RawMail {
  const head = `${outer}${CRLF}MIME-Version: 1.0${CRLF}Content-Type: ${contentType}${CRLF}${CRLF}`
  return { envelope: message.envelope, messageId: message.messageId, raw: Buffer.concat([Buffer.from(head, 'latin1'), body]) }
}

async function micalgOf (armoredSignature: string): Promise<string> {
  const parsed = await openpgp.readSignature({ armoredSignature })
  const algo = parsed.packets[0]?.hashAlgorithm
  const name = algo === undefined || algo === null ? undefined : (openpgp.enums.hash as unknown as Record<string, number>)
  const found = name === undefined ? undefined : Object.entries(name).find(([, value]) => value === algo)?.[0]
  if (found === undefined) throw new Error('signature has no hash algorithm')
  return `pgp-${found.toLowerCase()}`
}

function newBoundary (): string {
  return `pgp-${randomBytes(12).toString('hex')}`
}

function toCrlf (text: string): string {
  return text.replace(/\r?\n/g, CRLF)
}
