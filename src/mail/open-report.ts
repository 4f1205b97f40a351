// "What did the reporter send": one raw RFC 5322 message in, the decrypted and verified
// report out. PGP/MIME (RFC 3156), inline armor, encrypted attachments and signatures
// are unwrapped here; everything else sees an OpenedReport.
import { createHash } from 'node:crypto'
import type { PublicKey } from 'openpgp'
import { limits } from '../domain/limits.js'
import { decryptMessage, isEncryptedMessage } from '../pgp/decrypt.js'
import { findReporterKeys, knownKey, type FoundKey } from '../pgp/reporter-keys.js'
import type { CandidateKey, DecryptResult, TeamKeyring } from '../pgp/types.js'
import { readInlineSigned, verifyDetached } from '../pgp/verify.js'
import { ReportError } from '../domain/errors.js'
import type { OpenedReport, PartSignature, ReportAttachment, SignatureState } from '../domain/report.js'
import { decodeBody, findPgpSigned, isPgpSigned, splitMime, toCrlf, type MimeEntity, type PgpSignedEntity } from './mime-split.js'
import { parseMime, type ParsedAttachment, type ParsedEntity } from './parse.js'

export interface OpenReportDeps {
  keyring: TeamKeyring
  /** Keys on record for a sender address (from earlier reports, say). */
  knownSenderKeys?: (address: string) => Promise<PublicKey[]>
  /** Plaintext all decryptions of this message may produce together; defaults to limits.decryptedBytes (the worker lowers it to what its memory budget holds). */
  plaintextBytes?: number
}

type PendingSignature = (candidates: CandidateKey[]) => Promise<SignatureState>

/** Shared by every layer of one message: the part and plaintext budgets, what was decrypted. */
interface Context {
  keyring: TeamKeyring
  parts: number
  /** Plaintext bytes all decryptions of this message may still produce together. */
  plaintextBudget: number
  decryptedWith?: string
}

/** One opened layer. */
interface Opened {
  text: string
  attachments: ParsedAttachment[]
  /** The body text came out of a decryption. */
  encrypted: boolean
  /** How many of `attachments` came out of a decryption (their own, or an enclosing PGP/MIME one). */
  encryptedAttachments: number
  signature?: PendingSignature
  /** A signature over only part of the body; never set together with `signature`. */
  signedPart?: PendingPartSignature
  /** Subject from protected headers (inside the encryption). */
  subject?: string
}

interface PendingPartSignature extends Omit<PartSignature, 'signature'> {
  check: PendingSignature
}

const armorHeaders = {
  message: ['-----BEGIN PGP MESSAGE-----', '-----END PGP MESSAGE-----'],
  signed: ['-----BEGIN PGP SIGNED MESSAGE-----', '-----END PGP SIGNATURE-----']
} as const

export async function openReport (raw: Buffer, deps: OpenReportDeps): Promise<OpenedReport> {
  if (raw.length > limits.rawMessageBytes) throw new ReportError('too-large', `the message is larger than ${limits.rawMessageBytes} bytes`)
  const outer = await parseMime(raw, { headersOnly: true })
  const ctx: Context = { keyring: deps.keyring, parts: 0, plaintextBudget: Math.min(limits.decryptedBytes, deps.plaintextBytes ?? Infinity) }
  const opened = await openEntity(raw, 0, ctx, false)
  const found = await candidateKeys(outer, opened.attachments, deps)
  const candidates = found.map(({ key, reporterKey }) => ({ key, source: reporterKey.source }))
  const partSignature = await checkPart(opened.signedPart, candidates)
  const signature = opened.signature !== undefined
    ? await opened.signature(candidates)
    : partSignature === undefined ? { state: 'unsigned' as const } : textSignature(partSignature)
  const reporterKey = pickReporterKey(found, signature)
  return {
    ...(outer.messageId === undefined ? {} : { messageId: outer.messageId }),
    references: threadReferences(outer),
    subject: opened.subject ?? outer.subject ?? '',
    ...(outer.from === undefined ? {} : { from: outer.from }),
    ...(outer.replyTo === undefined ? {} : { replyTo: outer.replyTo }),
    ...(outer.date === undefined ? {} : { date: outer.date }),
    headers: outer.headers,
    // Said per part: a cleartext body next to an encrypted attachment is not an encrypted
    // report, and labelling it as one would lend the cleartext the attachment's protection.
    encrypted: opened.encrypted || opened.encryptedAttachments > 0,
    bodyEncrypted: opened.encrypted,
    decryptedAttachments: opened.encryptedAttachments,
    ...(ctx.decryptedWith === undefined ? {} : { decryptedWith: ctx.decryptedWith }),
    signature,
    ...(partSignature === undefined ? {} : { partSignature }),
    ...(reporterKey === undefined ? {} : { reporterKey }),
    text: opened.text.length > limits.reportTextChars ? opened.text.slice(0, limits.reportTextChars) : opened.text,
    attachments: opened.attachments.map(withDigest)
  }
}

async function openEntity (bytes: Buffer, depth: number, ctx: Context, insideEncryption: boolean): Promise<Opened> {
  if (depth > limits.nesting) throw new ReportError('too-large', `encrypted or signed entities are nested more than ${limits.nesting} deep`)
  const entity = splitMime(bytes)
  if (ctx.parts + entity.parts.length > limits.mimeParts) throw new ReportError('too-large', `the message has more than ${limits.mimeParts} MIME parts`)
  const ciphertext = pgpMimeCiphertext(entity)
  if (ciphertext !== undefined) return await openEncrypted(ciphertext, entity, depth, ctx)
  if (entity.contentType.type === 'multipart/signed' && entity.parts.length >= 2) return await openSigned(entity, depth, ctx, insideEncryption)
  return await openContent(bytes, depth, ctx, insideEncryption)
}

/**
 * The encrypted data of an RFC 3156 multipart/encrypted entity. Tolerates a mislabelled
 * data part (any part holding an encrypted OpenPGP message), and Exchange's mangling into
 * multipart/mixed when it keeps the application/pgp-encrypted control part.
 */
function pgpMimeCiphertext (entity: MimeEntity): Buffer | undefined {
  const { type } = entity.contentType
  if (type !== 'multipart/encrypted' && type !== 'multipart/mixed') return undefined
  const parts = entity.parts.map(splitMime)
  if (type === 'multipart/mixed' && !parts.some(isControlPart)) return undefined
  const data = parts.filter((part) => !isControlPart(part)).map(decodeBody).filter((body) => isEncryptedMessage(body))
  if (data.length === 1) return data[0]
  if (type === 'multipart/encrypted') throw new ReportError('unparsable', 'a PGP/MIME message must hold exactly one encrypted part')
  return undefined
}

/** The control part is one short line; more than this is not one. */
const maxControlPartBytes = 1024

// A bounded decode and a per-line comparison: a multiline `^\s*...$` regex over the
// whole part backtracks quadratically over a sender's long runs of blank lines.
function isControlPart (part: MimeEntity): boolean {
  if (part.contentType.type !== 'application/pgp-encrypted') return false
  const head = decodeBody({ body: part.body.subarray(0, maxControlPartBytes), transferEncoding: part.transferEncoding })
  return head.toString('latin1').split('\n').some((line) => /^version:\s*1$/i.test(line.trim()))
}

async function openEncrypted (ciphertext: Buffer, entity: MimeEntity, depth: number, ctx: Context): Promise<Opened> {
  countParts(ctx, 1 + entity.parts.length)
  const result = await decrypt(ciphertext, ctx)
  // The payload is itself a MIME entity (RFC 3156 section 4): open it again.
  // A view, not a copy: the plaintext can be tens of MB.
  const inner = await openEntity(Buffer.from(result.data.buffer, result.data.byteOffset, result.data.byteLength), depth + 1, ctx, true)
  const own = result.signatureKeyIds.length > 0 ? result.verify : undefined
  // Everything in the payload was inside the encryption, attachments included.
  const encrypted = { encrypted: true, encryptedAttachments: inner.attachments.length }
  if (inner.signature !== undefined || own === undefined) return { ...inner, ...encrypted }
  // A signature over the whole payload beats one over a part of it.
  const { signedPart: _superseded, ...rest } = inner
  return { ...rest, ...encrypted, signature: own }
}

async function openSigned (entity: MimeEntity, depth: number, ctx: Context, insideEncryption: boolean): Promise<Opened> {
  // The container and the signature part; the signed part is counted when it is parsed.
  countParts(ctx, entity.parts.length)
  const [signed, signaturePart] = entity.parts as [Buffer, Buffer]
  // A signature nested inside the signed part is superseded by this outer one.
  const { signature: _nested, signedPart: _nestedPart, ...inner } = await openEntity(signed, depth + 1, ctx, insideEncryption)
  const protocol = entity.contentType.params.protocol?.toLowerCase()
  // S/MIME and other protocols: the content counts, the signature is not ours to check.
  if (protocol !== 'application/pgp-signature') return inner
  return { ...inner, signature: detachedCheck({ signed, signaturePart }) }
}

/** RFC 3156 section 5: over the signed part's exact raw bytes, CRLF line ends. */
function detachedCheck ({ signed, signaturePart }: PgpSignedEntity): PendingSignature {
  const data = toCrlf(signed)
  const signature = decodeBody(splitMime(signaturePart))
  return async (candidates) => await verifyDetached({ data, signature, candidates })
}

async function openContent (bytes: Buffer, depth: number, ctx: Context, insideEncryption: boolean): Promise<Opened> {
  const parsed = await parseMime(bytes, { maxParts: limits.mimeParts - ctx.parts, maxDepth: limits.nesting - depth })
  countParts(ctx, parsed.partCount)
  const nested = await nestedSigned(bytes, parsed, depth)
  const { attachments, decrypted } = await openAttachments(nested?.attachments ?? parsed.attachments, ctx)
  const subject = insideEncryption ? protectedSubject(parsed) : undefined
  const body = await openBody(parsed, ctx)
  const opened: Opened = { ...body, attachments, encryptedAttachments: decrypted, ...(subject === undefined ? {} : { subject }) }
  return nested === undefined ? opened : withSignedPart(opened, nested.signedPart)
}

interface NestedSigned {
  signedPart: PendingPartSignature
  /** The entity's attachments without the signature parts (they are structure, not content). */
  attachments: ParsedAttachment[]
}

/**
 * multipart/signed entities inside this one (RFC 3156 allows them anywhere, and clients
 * sign the text and attach files unsigned next to it). They were already parsed and
 * counted with the whole entity, so the limits hold; each signed part is parsed once more
 * on its own to learn what it covers.
 */
async function nestedSigned (bytes: Buffer, parsed: ParsedEntity, depth: number): Promise<NestedSigned | undefined> {
  const entity = splitMime(bytes)
  if (!entity.contentType.type.startsWith('multipart/') || isPgpSigned(entity)) return undefined
  const found = findPgpSigned(entity, limits.nesting - depth)
  if (found.length === 0) return undefined
  const inside: ParsedEntity[] = []
  for (const { signed } of found) inside.push(await parseMime(signed, { maxParts: parsed.partCount, maxDepth: limits.nesting - depth }))
  const attachments = withoutSignatures(parsed.attachments, found.map(({ signaturePart }) => decodeBody(splitMime(signaturePart))))
  const checks = found.map(detachedCheck)
  return {
    attachments,
    signedPart: {
      check: async (candidates) => weakest(await Promise.all(checks.map(async (check) => await check(candidates)))),
      // With several signed parts no one signature holds all of the text.
      covers: inside.length === 1 && sameBody(parsed, inside[0] as ParsedEntity) ? 'text' : 'part',
      unsignedAttachments: outsideIndexes(attachments, inside.flatMap((part) => part.attachments))
    }
  }
}

/**
 * Which signature the layer keeps. A signed part holding all of the text supersedes an
 * inline signature in it (as an enclosing multipart/signed does); one holding only some
 * of the text gives way to an inline signature, which covers all of the text shown
 * (openBody drops anything after the armor).
 */
function withSignedPart (opened: Opened, signedPart: PendingPartSignature): Opened {
  if (signedPart.covers === 'part' && opened.signature !== undefined) return opened
  const { signature: _superseded, ...rest } = opened
  return { ...rest, signedPart }
}

/** The shown text (openBody reads `text`, or `html` when the text was made from it) all comes from the signed part. */
function sameBody (whole: ParsedEntity, signed: ParsedEntity): boolean {
  const normal = (value: string | undefined): string => (value ?? '').replace(/\r\n?/g, '\n').trim()
  if (normal(whole.text) !== normal(signed.text)) return false
  return !whole.textFromHtml || normal(whole.html) === normal(signed.html)
}

/** Drop one attachment per used signature part, matched by its decoded bytes. */
function withoutSignatures (attachments: ParsedAttachment[], signatures: Buffer[]): ParsedAttachment[] {
  const left = [...attachments]
  for (const signature of signatures) {
    const matches = (attachment: ParsedAttachment): boolean => attachment.content.equals(signature)
    const at = left.findIndex((attachment) => attachment.contentType === 'application/pgp-signature' && matches(attachment))
    const index = at === -1 ? left.findIndex(matches) : at
    if (index !== -1) left.splice(index, 1)
  }
  return left
}

/**
 * Indexes of attachments with no byte-identical counterpart inside the signed parts
 * (mailparser names unnamed attachments by position, so names cannot be compared).
 */
function outsideIndexes (attachments: ParsedAttachment[], inside: ParsedAttachment[]): number[] {
  const pool = [...inside]
  const outside: number[] = []
  attachments.forEach((attachment, index) => {
    const at = pool.findIndex((other) => other.content.equals(attachment.content))
    if (at === -1) outside.push(index)
    else pool.splice(at, 1)
  })
  return outside
}

const strength: Record<SignatureState['state'], number> = { bad: 0, 'no-key': 1, unsigned: 2, verified: 3 }

/** Several signed parts: the report is only as trustworthy as the weakest of them. */
function weakest (states: SignatureState[]): SignatureState {
  return states.reduce((worst, state) => strength[state.state] < strength[worst.state] ? state : worst)
}

async function checkPart (pending: PendingPartSignature | undefined, candidates: CandidateKey[]): Promise<PartSignature | undefined> {
  if (pending === undefined) return undefined
  const { check, ...scope } = pending
  return { signature: await check(candidates), ...scope }
}

/**
 * The report's signature when only a part is signed: that part's result if it holds all
 * of the text; otherwise never 'verified' (unsigned text would pass as the signer's),
 * while 'bad' and 'no-key' stay so a failed check is still seen.
 */
function textSignature (part: PartSignature): SignatureState {
  if (part.covers === 'text' || part.signature.state !== 'verified') return part.signature
  return { state: 'unsigned' }
}

/** One decryption, charged to the message's plaintext budget (several attachments could each inflate to the cap). */
async function decrypt (input: Buffer | string, ctx: Context): Promise<DecryptResult> {
  const result = await decryptMessage(input, ctx.keyring, { maxBytes: ctx.plaintextBudget })
  ctx.plaintextBudget -= result.data.length
  ctx.decryptedWith ??= result.decryptedWith
  return result
}

function countParts (ctx: Context, parts: number): void {
  ctx.parts += parts
  if (ctx.parts > limits.mimeParts) throw new ReportError('too-large', `the message has more than ${limits.mimeParts} MIME parts`)
}

/** RFC "protected headers" (draft-autocrypt-lamps-protected-headers): Subject inside the encryption. */
function protectedSubject (parsed: ParsedEntity): string | undefined {
  return parsed.contentType.params['protected-headers'] === 'v1' ? parsed.subject : undefined
}

/**
 * Inline PGP is accepted only when the armor starts the body (after whitespace): text
 * before it would otherwise pass as decrypted or signed. Text after the armor is dropped
 * for the same reason.
 */
async function openBody (parsed: ParsedEntity, ctx: Context): Promise<Pick<Opened, 'text' | 'encrypted' | 'signature'>> {
  const plain = parsed.text ?? ''
  const source = parsed.textFromHtml && parsed.html !== undefined ? armorFromHtml(parsed.html) ?? plain : plain
  const armor = leadingArmor(source)
  if (armor === undefined) return { text: plain, encrypted: false }
  if (armor.kind === 'message' && isEncryptedMessage(armor.block)) {
    const result = await decrypt(armor.block, ctx)
    // Text literal data is CRLF-canonical (RFC 4880 5.9); the rest of the report uses LF.
    const decrypted = Buffer.from(result.data).toString('utf8').replace(/\r\n/g, '\n')
    const inner = leadingArmor(decrypted)
    if (inner?.kind === 'signed') return { ...(await openInlineSigned(inner.block, ctx)), encrypted: true }
    return { text: decrypted, encrypted: true, ...(result.signatureKeyIds.length > 0 ? { signature: result.verify } : {}) }
  }
  return { ...(await openInlineSigned(armor.block, ctx)), encrypted: false }
}

/** A signed `PGP MESSAGE` may be compressed: it inflates once, charged to the plaintext budget like a decryption. */
async function openInlineSigned (block: string, ctx: Context): Promise<Pick<Opened, 'text' | 'signature'>> {
  const { text, bytes, check } = await readInlineSigned(block, { maxBytes: ctx.plaintextBudget })
  ctx.plaintextBudget -= bytes
  return { text, signature: check }
}

interface Armor {
  kind: keyof typeof armorHeaders
  block: string
}

function leadingArmor (text: string): Armor | undefined {
  const trimmed = text.replace(/^[\s\u00a0]+/, '')
  for (const kind of ['message', 'signed'] as const) {
    const [begin, end] = armorHeaders[kind]
    if (!trimmed.startsWith(begin)) continue
    const endAt = trimmed.indexOf(end)
    if (endAt === -1) return undefined
    return { kind, block: `${trimmed.slice(0, endAt + end.length)}\n` }
  }
  return undefined
}

const maxHtmlForArmor = 2 * 1024 * 1024

/** Mailvelope: the armor in a `<pre>` that starts the visible HTML. */
function armorFromHtml (html: string): string | undefined {
  if (html.length > maxHtmlForArmor) return undefined
  const visible = withoutHead(withoutComments(html))
  const match = /^\s*(?:<(?!pre\b)[a-z!/][^>]*>\s*)*<pre\b[^>]*>([\s\S]*?)<\/pre\s*>/i.exec(visible)
  if (match === null) return undefined
  return decodeEntities(withoutTags((match[1] ?? '').replace(/<br\s*\/?>/gi, '\n')))
}

// The helpers below replace lazy `[\s\S]*?` and `<[^>]*>` regexes, which restart a scan
// to the end of the input at every unclosed opener (quadratic on a page of `<!--`).
// Each scans once and stops at the first opener without a closer, leaving the rest as
// the regexes did.

/** Every `opener ... closer` span removed, scanning once; an unclosed opener ends it. */
function withoutSpans (html: string, opener: string, closer: string): string {
  let out = ''
  let from = 0
  for (;;) {
    const open = html.indexOf(opener, from)
    const close = open === -1 ? -1 : html.indexOf(closer, open + opener.length)
    if (close === -1) return out + html.slice(from)
    out += html.slice(from, open)
    from = close + closer.length
  }
}

const withoutComments = (html: string): string => withoutSpans(html, '<!--', '-->')
const withoutTags = (html: string): string => withoutSpans(html, '<', '>')

/** The first `<head ...> ... </head>` removed. */
function withoutHead (html: string): string {
  const open = /<head\b/i.exec(html)
  if (open === null) return html
  const close = /<\/head\s*>/ig
  close.lastIndex = open.index
  const end = close.exec(html)
  if (end === null) return html
  return html.slice(0, open.index) + html.slice(end.index + end[0].length)
}

function decodeEntities (text: string): string {
  return text
    .replace(/&#x([0-9a-f]{1,6});/gi, (_, hex: string) => String.fromCodePoint(Math.min(parseInt(hex, 16), 0x10ffff)))
    .replace(/&#(\d{1,7});/g, (_, dec: string) => String.fromCodePoint(Math.min(parseInt(dec, 10), 0x10ffff)))
    .replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;|&apos;/g, "'")
    .replace(/&amp;/g, '&')
}

const encryptedExtension = /\.(asc|gpg|pgp)$/i

/** Encrypted attachments are replaced by their plaintext, named without the extension. */
async function openAttachments (attachments: ParsedAttachment[], ctx: Context): Promise<{ attachments: ParsedAttachment[], decrypted: number }> {
  const opened: ParsedAttachment[] = []
  let decrypted = 0
  for (const attachment of attachments) {
    if (!isEncryptedAttachment(attachment)) {
      opened.push(attachment)
      continue
    }
    const result = await decrypt(attachment.content, ctx)
    decrypted++
    const filename = attachment.filename.replace(encryptedExtension, '') || 'attachment'
    const content = Buffer.from(result.data.buffer, result.data.byteOffset, result.data.byteLength)
    opened.push({ filename, contentType: guessContentType(filename), content, size: content.length })
  }
  return { attachments: opened, decrypted }
}

function isEncryptedAttachment ({ filename, contentType, content }: ParsedAttachment): boolean {
  if (content.subarray(0, 64).toString('latin1').trimStart().startsWith(armorHeaders.message[0])) return isEncryptedMessage(content)
  // Binary OpenPGP only where the sender said so: a crash dump may start with any byte.
  const declared = encryptedExtension.test(filename) || contentType === 'application/pgp-encrypted'
  return declared && isEncryptedMessage(content)
}

const contentTypes: Record<string, string> = {
  txt: 'text/plain',
  md: 'text/markdown',
  log: 'text/plain',
  json: 'application/json',
  html: 'text/html',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  tar: 'application/x-tar',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  eml: 'message/rfc822',
  patch: 'text/x-diff',
  diff: 'text/x-diff'
}

function guessContentType (filename: string): string {
  const extension = /\.([a-z0-9]+)$/i.exec(filename)?.[1]?.toLowerCase()
  return (extension === undefined ? undefined : contentTypes[extension]) ?? 'application/octet-stream'
}

/** Keys that may have signed: Autocrypt, attached (matching From), then known ones. */
async function candidateKeys (outer: ParsedEntity, attachments: ParsedAttachment[], deps: OpenReportDeps): Promise<FoundKey[]> {
  const from = outer.from?.address
  if (from === undefined) return []
  const found = await findReporterKeys({ from, headers: outer.headerList, contentType: outer.contentType.type, attachments })
  const known = deps.knownSenderKeys === undefined ? [] : await deps.knownSenderKeys(from)
  for (const key of known.map(knownKey)) {
    if (!found.some((other) => other.reporterKey.fingerprint === key.reporterKey.fingerprint)) found.push(key)
  }
  return found
}

function pickReporterKey (found: FoundKey[], signature: SignatureState): OpenedReport['reporterKey'] {
  const signer = signature.state === 'verified' ? found.find((key) => key.reporterKey.fingerprint === signature.fingerprint) : undefined
  return (signer ?? found[0])?.reporterKey
}

function threadReferences (outer: ParsedEntity): string[] {
  const ids = [...outer.references, ...(outer.messageId === undefined ? [] : [outer.messageId])]
  return [...new Set(ids)]
}

function withDigest (attachment: ParsedAttachment): ReportAttachment {
  return {
    filename: attachment.filename,
    contentType: attachment.contentType,
    size: attachment.content.length,
    sha256: createHash('sha256').update(attachment.content).digest('hex'),
    content: attachment.content
  }
}
