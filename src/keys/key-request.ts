// Key by e-mail. SECURITY.md tells reporters who only share under PGP to first ask for
// the public key; this decides which mail is such a request, and answers it.
//
// The rule (README "Key by e-mail"):
//   - A mail *asks for the key* when it is sent to the `+key` sub-address of
//     SECURITY_EMAIL (To, Cc, Delivered-To, X-Original-To), or when its subject or text
//     (quoted lines and signature removed) says "public key", "PGP key", "GPG key",
//     "GnuPG key", "OpenPGP key" or "encryption key".
//   - It is a *key request only* (the key is sent, no advisory is opened) when it also
//     looks like nothing else: unencrypted, no attachments, at most 600 characters of
//     its own text, none of the words a report is made of (CVE, exploit, PoC, payload,
//     injection, XSS, CSRF, SSRF, RCE, traversal, overflow, bypass, leak, hard-coded,
//     exposed, plaintext, private key, ...), and not a reply to a mail of ours (key
//     reply, acknowledgement: a follow-up is a report). Even then it is kept in the
//     quarantine (report/process.ts), so a misjudged report can be replayed.
//   - Otherwise, when unsure, it is a report: filed as usual, and an unencrypted report
//     that asks for the key also gets the key in a separate reply.
// Replies obey RFC 3834 (the worker's auto-reply policy decides first) and go at most
// once every three days to the same inbox, and at most KEY_REPLIES_PER_HOUR in all.
import type { Redis } from 'ioredis'
import type { OpenedReport } from '../domain/report.js'
import type { TeamKeyring } from '../pgp/types.js'
import { addressOf, replyRecipient, type ReplyTarget } from '../mail/messages.js'
import { autocryptHeader, signMime, type RawMail } from '../mail/pgp-mime.js'
import { keyReply } from '../mail/key-reply.js'
import { inboxHash } from '../mail/reply-window.js'
import { execAll } from '../store/exec.js'
import type { Templates } from '../mail/templates.js'
import type { KeySource } from './published.js'
import { primarySigningKey } from './publisher.js'

export type KeyMailKind = 'request' | 'report-and-key' | 'report'

const KEY_WORDS = /\b(?:public|pgp|gpg|gnupg|openpgp|encryption)[ \t-]+key\b/i
// "Key" words also describe findings about keys ("the encryption key is hard-coded"):
// those words make the mail a report, since a key request is answered without an advisory.
const REPORT_WORDS = /\b(?:cve-\d|cwe-\d|exploit|poc|proof[ -]of[ -]concept|payload|inject|injection|xss|csrf|ssrf|rce|remote code|code execution|traversal|overflow|bypass|leak|leaked|leaking|deserializ|privilege escalation|stack trace|hard-?coded|expos(?:ed|es|ing|ure)|plain-?text|private key|secret key|compromis|crash|denial of service)/i
const MAX_REQUEST_CHARS = 600
const MAX_SCAN_CHARS = 64 * 1024
const KEY_REPLY_REPEAT_SECONDS = 3 * 24 * 3600
/**
 * Key replies go to an unauthenticated From: the per-address limit stops repeats to one
 * mailbox, this stops a sender who forges many From addresses from using the gateway to
 * mail strangers in bulk. Far above what real requests need.
 */
const KEY_REPLIES_PER_HOUR = 60

type Classifiable = Pick<OpenedReport, 'headers' | 'subject' | 'text' | 'attachments' | 'encrypted'>

export function classifyKeyMail (report: Classifiable, securityEmail: string, fromDomain: string): KeyMailKind {
  const own = ownText(report.text)
  const subject = report.subject.slice(0, 1000)
  const asks = sentToKeyAddress(report.headers, securityEmail) || KEY_WORDS.test(subject) || KEY_WORDS.test(own)
  if (!asks) return 'report'
  const looksLikeReport = report.encrypted ||
    report.attachments.length > 0 ||
    own.trim().length > MAX_REQUEST_CHARS ||
    REPORT_WORDS.test(subject) || REPORT_WORDS.test(own) ||
    answersOurMail(report.headers, fromDomain)
  if (!looksLikeReport) return 'request'
  // An encrypted report was written to our key already: it needs no copy of it.
  return report.encrypted ? 'report' : 'report-and-key'
}

/** The writer's own words: no quoted lines, no attribution line, no signature. */
export function ownText (text: string): string {
  const lines: string[] = []
  for (const line of text.slice(0, MAX_SCAN_CHARS).split(/\r?\n/)) {
    if (line === '-- ' || line === '--') break
    if (/^\s*>/.test(line)) continue
    if (/^On .{1,200} wrote:\s*$/.test(line)) continue
    lines.push(line)
  }
  return lines.join('\n')
}

function sentToKeyAddress (headers: Map<string, string>, securityEmail: string): boolean {
  const at = securityEmail.lastIndexOf('@')
  const wanted = `${securityEmail.slice(0, at)}+key@${securityEmail.slice(at + 1)}`.toLowerCase()
  for (const name of ['to', 'cc', 'delivered-to', 'x-original-to', 'envelope-to']) {
    const value = (headers.get(name) ?? '').slice(0, 16_384).toLowerCase()
    for (const token of value.split(/[\s<>,;:"()]+/)) if (token === wanted) return true
  }
  return false
}

const OWN_REPLY_ID = /<(?:key|ack|undecryptable|notify|notify-quarantined)\.[^<>\s@]{1,200}@([^<>\s]{1,253})>/g

/** A follow-up in a thread we started (our key reply, an acknowledgement): a report, never a bare request. */
function answersOurMail (headers: Map<string, string>, domain: string): boolean {
  const ids = `${headers.get('in-reply-to') ?? ''} ${headers.get('references') ?? ''}`.slice(0, 32_768).toLowerCase()
  for (const match of ids.matchAll(OWN_REPLY_ID)) if (match[1] === domain.toLowerCase()) return true
  return false
}

export interface KeyReplierDeps {
  keySource: KeySource
  keyring: TeamKeyring
  redis: Redis
  prefix: string
  securityEmail: string
  publicUrl: string
  from: string
  /** Defaults to KEY_REPLIES_PER_HOUR. */
  maxRepliesPerHour?: number
  now?: () => Date
  templates?: Templates
}

export interface KeyReplier {
  classify: (report: Classifiable) => KeyMailKind
  /** The signed reply, or why none is sent. Called only once RFC 3834 allows a reply. */
  build: (report: ReplyTarget, intakeId: string) => Promise<RawMail | { suppressed: string }>
}

export function createKeyReplier (deps: KeyReplierDeps): KeyReplier {
  const fromAddress = addressOf(deps.from)
  const fromDomain = fromAddress.slice(fromAddress.lastIndexOf('@') + 1)
  return {
    classify: (report) => classifyKeyMail(report, deps.securityEmail, fromDomain),
    async build (report, intakeId) {
      const pub = await deps.keySource.get()
      const primary = pub.primary
      const signer = primarySigningKey(pub, deps.keyring)
      if (primary === undefined || signer === undefined) return { suppressed: 'no published team key this worker can sign with' }
      const to = replyRecipient(report)
      if (to === undefined) return { suppressed: 'no usable reply address' }
      const limited = await replyLimit(deps, to.address, intakeId)
      if (limited !== undefined) return { suppressed: limited }
      const message = keyReply({
        report,
        intakeId,
        from: deps.from,
        publicUrl: deps.publicUrl,
        securityEmail: deps.securityEmail,
        fingerprint: primary.fingerprint,
        armoredKey: primary.armored,
        development: primary.development,
        autocrypt: autocryptHeader(fromAddress, primary.key),
        ...(deps.templates !== undefined ? { templates: deps.templates } : {})
      })
      return await signMime(message, signer)
    }
  }
}

/**
 * Why no key reply may go to `address` now, or undefined when one may (and is counted).
 * RFC 3834 5.2: not the same reply to the same sender more than once every few days.
 * The per-address marker holds the intake id, so a retry of this very job still sends.
 */
async function replyLimit (deps: KeyReplierDeps, address: string, intakeId: string): Promise<string | undefined> {
  const marker = `${deps.prefix}:gw:key-reply:${inboxHash(address)}`
  const holder = await deps.redis.get(marker)
  if (holder === intakeId) return undefined
  if (holder !== null) return 'key already sent to this address in the last 3 days'
  const hour = Math.floor((deps.now?.() ?? new Date()).getTime() / 3_600_000)
  const counter = `${deps.prefix}:gw:key-reply-hour:${hour}`
  const [count] = await execAll(deps.redis.pipeline().incr(counter).expire(counter, 7200))
  if (Number(count) > (deps.maxRepliesPerHour ?? KEY_REPLIES_PER_HOUR)) return 'hourly limit of key replies reached'
  const set = await deps.redis.set(marker, intakeId, 'EX', KEY_REPLY_REPEAT_SECONDS, 'NX')
  if (set === null && await deps.redis.get(marker) !== intakeId) return 'key already sent to this address in the last 3 days'
  return undefined
}
