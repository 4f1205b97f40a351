// Amazon SES receipt rule -> SNS action -> POST /inbound/ses. SNS posts JSON as
// text/plain; each message is signed (src/inbound/sns-verify.ts) and must come from a
// configured topic. `Message` holds the SES notification, whose `content` is the raw
// mail in UTF-8 or Base64 (the SNS action's encoding). SNS limits that path to 150 KB:
// larger mail needs the S3 action, which this endpoint does not take.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { unauthorized } from './basic-auth.js'
import { deliver, type DeliverDeps } from './deliver.js'
import type { Verdicts } from './message.js'
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

export async function sesRoute (app: FastifyInstance, deps: SesDeps): Promise<void> {
  app.post('/inbound/ses', { bodyLimit: deps.maxBytes }, async (req, reply) => {
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
      return await reply.code(503).header('retry-after', '60').send({ error: 'temporarily unable to verify the message' })
    }
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
