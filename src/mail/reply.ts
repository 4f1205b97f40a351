// Mail to a reporter, with every rule that guards it: RFC 3834 (the message's headers,
// answers to our own mail, the per-sender window), one recorded outcome per report and
// kind (a retry never sends twice), encryption to the reporter's key when one is on
// record, and a permanent SMTP refusal recorded rather than retried.
import type { Logger } from '../log.js'
import { mayAutoReply } from './auto-reply-policy.js'
import { NoReplyRecipientError, answersOwnMessage, type MailMessage, type ReplyTarget } from './messages.js'
import type { OutgoingMail } from './outgoing.js'
import type { RawMail } from './pgp-mime.js'
import type { ReplyWindow } from './reply-window.js'
import type { ReporterKeyStore } from '../pgp/key-store.js'
import type { Progress, ReplyKind } from '../store/progress.js'

export interface ReplyDeps {
  outgoing: OutgoingMail
  keyStore: ReporterKeyStore
  window: ReplyWindow
  mail: { from: string }
  log: Logger
}

/**
 * Kinds that answer an inbound message, and so could loop with a responder: these are
 * held to the per-sender window. The published notice answers GitHub, not a mail.
 */
const windowed: ReadonlySet<ReplyKind> = new Set(['ack', 'unreadable'])

/**
 * What a builder returns: a message (signed, or encrypted when the key is known, here), a
 * message its builder has signed already (the key reply signs with the published key), or
 * why none goes out.
 */
export type BuiltReply = MailMessage | RawMail | { suppressed: string }

/** `authenticated`: the sender is proven, so the reserved share of the hourly cap is open to it. */
export async function replyToReporter (intakeId: string, kind: ReplyKind, report: ReplyTarget, progress: Progress, deps: ReplyDeps, build: () => BuiltReply | Promise<BuiltReply>, opts: { authenticated?: boolean } = {}): Promise<void> {
  const field = `reply.${kind}` as const
  if (progress.state[field] !== undefined) return
  const suppress = async (reason: string) => {
    await progress.record({ [field]: `suppressed: ${reason}` })
    deps.log.info({ intakeId, kind, reason }, 'reply suppressed')
  }
  const policy = answersOwnMessage(report.headers, deps.mail.from)
    ? { ok: false as const, reason: 'answers one of our own automatic messages' }
    : mayAutoReply(report)
  if (!policy.ok) return await suppress(`${policy.reason} (RFC 3834)`)
  let built: BuiltReply
  try {
    built = await build()
  } catch (err) {
    if (!(err instanceof NoReplyRecipientError)) throw err
    return await suppress('no usable reply address')
  }
  if ('suppressed' in built) return await suppress(built.suppressed)
  if ('raw' in built) return await send(intakeId, kind, field, progress, deps, async () => ({ ...(await deps.outgoing.sendRaw(built)), encrypted: false }))
  const message = built
  const slot = `${field}.window` as const
  if (windowed.has(kind) && progress.state[slot] === undefined) {
    const refused = await deps.window.take(kind, message.to.address, opts.authenticated === true)
    if (refused !== undefined) return await suppress(refused)
    // Recorded so that a retry after a failed send does not count against the window again.
    await progress.record({ [slot]: 'taken' })
  }
  const key = await deps.keyStore.get(message.to.address)
  await send(intakeId, kind, field, progress, deps, async () => await deps.outgoing.send(message, key === undefined ? {} : { encryptTo: [key.key] }))
}

async function send (intakeId: string, kind: ReplyKind, field: `reply.${string}`, progress: Progress, deps: ReplyDeps, go: () => Promise<{ messageId: string, encrypted: boolean }>): Promise<void> {
  try {
    const sent = await go()
    await progress.record({ [field]: sent.messageId })
    deps.log.debug({ intakeId, kind, encrypted: sent.encrypted }, 'reply sent') // the outcome is recorded, and counted (replies_total)
  } catch (err) {
    // A permanent refusal (5xx: no such mailbox, policy) will not change on retry, and
    // the report is already filed: record it rather than fail the job.
    const responseCode = (err as { responseCode?: unknown }).responseCode
    if (typeof responseCode !== 'number' || responseCode < 500) throw err
    await progress.record({ [field]: `suppressed: refused by the mail server (${responseCode})` })
    deps.log.warn({ intakeId, kind, responseCode }, 'reply refused by the mail server')
  }
}
