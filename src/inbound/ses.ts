// Amazon SES receipt rule -> SNS action -> POST /inbound/ses. SNS posts JSON as
// text/plain; each message is signed (src/inbound/sns-verify.ts) and must come from a
// configured topic. `Message` holds the SES notification, whose `content` is the raw
// mail in UTF-8 or Base64 (the SNS action's encoding). SNS limits that path to 150 KB:
// larger mail needs the S3 action, which this endpoint does not take.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { unauthorized } from './basic-auth.js'
import { deliver, type DeliverDeps } from './deliver.js'
import { unavailable } from './respond.js'
import type { Verdicts } from '../domain/inbound.js'
import { snsOnce, type SnsAnswer } from './sns-once.js'
import { SnsCertificateUnavailable, asSnsMessage, snsUrlRegion, topicRegion, type FetchText, type SnsMessage, type SnsVerify } from './sns-verify.js'

export interface SesDeps extends DeliverDeps {
  topicArns: string[]
  verify: SnsVerify
  confirmSubscription: boolean
  fetchText: FetchText
  maxBytes: number
}

interface SesNotification {
  notificationType?: string
  mail?: { source?: string, messageId?: string, destination?: string[] }
  receipt?: {
    recipients?: string[]
    action?: { type?: string, encoding?: string }
    spamVerdict?: { status?: string }
    virusVerdict?: { status?: string }
    spfVerdict?: { status?: string }
    dkimVerdict?: { status?: string }
    dmarcVerdict?: { status?: string }
  }
  content?: string
}

// SNS messages are at most 256 KB; with the JSON escaping of `Message` a post stays well
// under 1 MiB. The body is read before its signature can be checked, so an anonymous
// client must not get to make us buffer and parse INBOUND_MAX_MB of JSON.
const SNS_MAX_POST_BYTES = 1024 * 1024

export async function sesRoute (app: FastifyInstance, deps: SesDeps): Promise<void> {
  const once = snsOnce(deps.redis, deps.prefix)
  /** Requests that claimed their SNS MessageId: their answer settles the claim (onSend). */
  const claimed = new WeakMap<FastifyRequest, string>()
  app.post('/inbound/ses', {
    bodyLimit: Math.min(deps.maxBytes, SNS_MAX_POST_BYTES),
    onSend: async (req, reply, payload) => {
      const messageId = claimed.get(req)
      if (messageId === undefined) return payload
      claimed.delete(req)
      const answer = { status: reply.statusCode, body: typeof payload === 'string' ? payload : '' }
      // Not stored: a replay then falls through to the intake's own redelivery marker.
      await once.settle(messageId, answer).catch((err: Error) => req.log.warn({ err: { message: err.message } }, 'inbound ses: could not record the SNS message id'))
      return payload
    }
  }, async (req, reply) => {
    const m = asSnsMessage(parseJson(req.body))
    if (m === undefined) return await reply.code(400).send({ error: 'not an SNS message' })
    if (!deps.topicArns.includes(m.TopicArn)) {
      req.log.warn({ provider: 'ses' }, 'inbound: SNS message from an unexpected topic')
      return await unauthorized(reply)
    }
    try {
      if (!await deps.verify(m)) {
        req.log.warn({ provider: 'ses' }, 'inbound: authentication failed')
        return await unauthorized(reply)
      }
    } catch (err) {
      if (!(err instanceof SnsCertificateUnavailable)) throw err
      req.log.error({ err: { message: err.message } }, 'inbound ses: cannot check the signature now, answering 503')
      return await unavailable(reply, 'verify')
    }
    const claim = await once.claim(m.MessageId).catch(() => undefined)
    if (claim === undefined) return await unavailable(reply) // Redis down: SNS retries
    if (!claim.first) return await replayed(req, reply, claim.answer)
    claimed.set(req, m.MessageId)
    if (m.Type === 'SubscriptionConfirmation') return await subscription(req, reply, deps, m)
    if (m.Type === 'UnsubscribeConfirmation') {
      req.log.warn({ topicArn: m.TopicArn }, 'inbound ses: the SNS subscription was removed')
      return await reply.code(200).send({ ok: true })
    }
    const n = parseJson(m.Message) as SesNotification | undefined
    if (n === undefined || n === null || typeof n !== 'object') return await reply.code(400).send({ error: 'the SNS message holds no SES notification' })
    if (n.notificationType !== 'Received') return await reply.code(200).send({ ignored: 'not a Received notification' })
    if (typeof n.content !== 'string') return await reply.code(400).send({ error: 'no content: use the SNS action (the S3 action is not supported)' })
    const raw = n.receipt?.action?.encoding?.toUpperCase() === 'BASE64' ? Buffer.from(n.content, 'base64') : Buffer.from(n.content, 'utf8')
    const to = (n.receipt?.recipients ?? n.mail?.destination ?? []).filter((a): a is string => typeof a === 'string').slice(0, 100)
    return await deliver(req, reply, deps, {
      raw,
      source: 'ses',
      envelope: { to, ...(typeof n.mail?.source === 'string' ? { from: n.mail.source } : {}) },
      verdicts: sesVerdicts(n),
      ...(typeof n.mail?.messageId === 'string' ? { providerMessageId: n.mail.messageId.slice(0, 200) } : {})
    })
  })
}

/** A MessageId already taken: the first answer again, nothing done (or 503 while the first is in flight). */
async function replayed (req: FastifyRequest, reply: FastifyReply, answer: SnsAnswer | undefined) {
  if (answer === undefined) return await reply.code(503).header('retry-after', '5').send({ error: 'this SNS message is being handled; retry later' })
  req.log.info({ provider: 'ses' }, 'inbound ses: SNS message id already taken, first answer repeated')
  return await reply.code(answer.status).type('application/json; charset=utf-8').send(answer.body)
}

async function subscription (req: FastifyRequest, reply: FastifyReply, deps: SesDeps, m: SnsMessage) {
  const url = m.SubscribeURL ?? ''
  // Only ever fetch an SNS URL of the topic's own region (the message is signed, but be strict).
  if (snsUrlRegion(url) === undefined || snsUrlRegion(url) !== topicRegion(m.TopicArn)) return await reply.code(400).send({ error: 'SubscribeURL is not an SNS URL' })
  if (!deps.confirmSubscription) {
    req.log.warn({ topicArn: m.TopicArn, subscribeUrl: url }, 'inbound ses: SNS subscription awaiting confirmation; open SubscribeURL (or set SES_CONFIRM_SUBSCRIPTION=true)')
    return await reply.code(200).send({ ok: true, confirmed: false })
  }
  try {
    await deps.fetchText(url)
  } catch (err) {
    req.log.error({ err: { message: (err as Error).message } }, 'inbound ses: confirming the SNS subscription failed')
    return await reply.code(503).send({ error: 'could not confirm the subscription' })
  }
  req.log.info({ topicArn: m.TopicArn }, 'inbound ses: SNS subscription confirmed')
  return await reply.code(200).send({ ok: true, confirmed: true })
}

function sesVerdicts (n: SesNotification): Verdicts {
  const status = (v?: { status?: string }) => typeof v?.status === 'string' ? v.status.toLowerCase() : undefined
  const v: Verdicts = {}
  const spam = status(n.receipt?.spamVerdict)
  if (spam === 'fail') v.spam = true
  for (const [k, verdict] of [['spf', n.receipt?.spfVerdict], ['dkim', n.receipt?.dkimVerdict], ['dmarc', n.receipt?.dmarcVerdict], ['virus', n.receipt?.virusVerdict]] as const) {
    const s = status(verdict)
    if (s !== undefined) v[k] = s
  }
  return v
}

function parseJson (body: unknown): unknown {
  if (typeof body !== 'string') return Buffer.isBuffer(body) ? parseJson(body.toString('utf8')) : body
  try {
    return JSON.parse(body)
  } catch {
    return undefined
  }
}
