// The end of every provider adapter: the message is checked (not empty, not too large,
// for us) and then goes down the same durable path as /inbound/raw. Its content is
// never a reason to refuse it: the worker files it or quarantines it with a reason.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { headerTooLarge } from './message-head.js'
import { countDropped, recipientFilter } from './recipients.js'
import { replyAccepted, type InboundDeps } from './respond.js'
import { mergeVerdicts, type InboundMessage } from '../domain/inbound.js'
import { verdictsFromHeaders } from './verdict-headers.js'

export interface DeliverDeps extends InboundDeps {
  prefix: string
  addressedToUs: ReturnType<typeof recipientFilter>
}

/** How each provider is told "not for us, do not retry" (see the reference on retries). */
const DROP_STATUS: Record<string, number> = {
  mailgun: 406, // Mailgun: 406 = rejected, not retried
  postmark: 403, // Postmark: 403 stops its retries
  sendgrid: 200, // SendGrid retries 5xx only; 200 makes it forget the message
  ses: 200 // SNS: a 2xx ends the delivery
}

/**
 * Providers whose verdicts arrive as fields of their own signed request. The others'
 * verdicts are read from the message's headers (or a list of them), where a sender can
 * write "dmarc=pass" too: fine for holding spam (the worst verdict wins), not for trust.
 */
const FIELD_VERDICTS: ReadonlySet<string> = new Set(['ses'])

export async function deliver (req: FastifyRequest, reply: FastifyReply, deps: DeliverDeps, msg: InboundMessage) {
  if (msg.raw.length === 0) return await reply.code(400).send({ error: 'empty message' })
  if (headerTooLarge(msg.raw)) {
    req.log.warn({ source: msg.source, bytes: msg.raw.length }, 'inbound: header block too large, refused')
    return await reply.code(413).send({ error: 'header block too large' })
  }
  if (!deps.addressedToUs(msg.raw, msg.envelope?.to)) {
    await countDropped(deps.redis, deps.prefix, msg.source, 'recipient')
    req.log.info({ source: msg.source }, 'inbound: not addressed to the intake address, dropped')
    return await reply.code(DROP_STATUS[msg.source] ?? 200).send({ dropped: 'not addressed to the intake address' })
  }
  // Bounded: the sealed metadata has a size cap, and a provider field is sender-controlled.
  const cut = (s: string) => s.slice(0, 320)
  const verdicts = mergeVerdicts(verdictsFromHeaders(msg.raw), msg.verdicts)
  const meta = {
    verdicts,
    ...(FIELD_VERDICTS.has(msg.source) && msg.verdicts.dmarc === 'pass' && verdicts.dmarc === 'pass' ? { dmarcPass: true } : {}),
    ...(msg.envelope !== undefined ? { envelope: { to: msg.envelope.to.slice(0, 100).map(cut), ...(msg.envelope.from !== undefined ? { from: cut(msg.envelope.from) } : {}) } } : {}),
    ...(msg.providerMessageId !== undefined ? { providerMessageId: msg.providerMessageId.slice(0, 200) } : {}),
    ...(msg.rebuilt === true ? { rebuilt: true } : {})
  }
  return await replyAccepted(req, reply, deps, msg.raw, msg.source, meta)
}
