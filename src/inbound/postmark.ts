// Postmark inbound webhook: JSON with basic auth in the URL. With "Include raw email
// content" enabled, `RawEmail` is the message. Without it, only parsed fields arrive: a
// message is rebuilt from them (deterministically, so a redelivery is recognised) and
// marked as rebuilt: signatures over the original MIME cannot be checked any more.
import { createHash } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import MailComposer from 'nodemailer/lib/mail-composer'
import { basicAuthHook } from './basic-auth.js'
import { deliver, type DeliverDeps } from './deliver.js'
import type { Verdicts } from '../domain/inbound.js'
import { verdictsFromFields } from './verdict-headers.js'

interface PostmarkAddress { Email?: string, Name?: string }
interface PostmarkAttachment { Name?: string, Content?: string, ContentType?: string, ContentID?: string }
interface PostmarkInbound {
  From?: string
  FromFull?: PostmarkAddress
  To?: string
  ToFull?: PostmarkAddress[]
  Cc?: string
  CcFull?: PostmarkAddress[]
  ReplyTo?: string
  OriginalRecipient?: string
  Subject?: string
  Date?: string
  MessageID?: string
  TextBody?: string
  HtmlBody?: string
  Headers?: Array<{ Name?: string, Value?: string }>
  Attachments?: PostmarkAttachment[]
  RawEmail?: string
}

// The fields read below, typed: a post whose fields have other types is a 400 from
// Fastify's validation (after basic auth), never a TypeError deep in the rebuild (500).
const str = { type: ['string', 'null'] }
const address = { type: ['object', 'null'], properties: { Email: str, Name: str } }
const list = (items: object) => ({ type: ['array', 'null'], items })
const POSTMARK_BODY = {
  type: 'object',
  properties: {
    From: str,
    FromFull: address,
    To: str,
    ToFull: list(address),
    Cc: str,
    CcFull: list(address),
    ReplyTo: str,
    OriginalRecipient: str,
    Subject: str,
    Date: str,
    MessageID: str,
    TextBody: str,
    HtmlBody: str,
    RawEmail: str,
    Headers: list({ type: ['object', 'null'], properties: { Name: str, Value: str } }),
    Attachments: list({ type: 'object', properties: { Name: str, Content: str, ContentType: str, ContentID: str } })
  }
}

export async function postmarkRoute (app: FastifyInstance, deps: DeliverDeps & { basicAuth: string, maxBytes: number }): Promise<void> {
  app.post('/inbound/postmark', { bodyLimit: deps.maxBytes, preParsing: basicAuthHook(deps.basicAuth, 'postmark'), schema: { body: POSTMARK_BODY } }, async (req, reply) => {
    const body = req.body as PostmarkInbound
    const rebuilt = typeof body.RawEmail !== 'string' || body.RawEmail === ''
    const raw = rebuilt ? await rebuildMessage(body) : Buffer.from(body.RawEmail as string, 'utf8')
    const to = [body.OriginalRecipient, ...(body.ToFull ?? []).map((a) => a?.Email), ...(body.CcFull ?? []).map((a) => a?.Email)].filter((a): a is string => typeof a === 'string' && a !== '')
    return await deliver(req, reply, deps, {
      raw,
      source: 'postmark',
      envelope: { to: to.slice(0, 100), ...(typeof body.FromFull?.Email === 'string' ? { from: body.FromFull.Email } : {}) },
      verdicts: postmarkVerdicts(body),
      ...(typeof body.MessageID === 'string' ? { providerMessageId: body.MessageID.slice(0, 200) } : {}),
      ...(rebuilt ? { rebuilt: true } : {})
    })
  })
}

function postmarkVerdicts (body: PostmarkInbound): Verdicts {
  return verdictsFromFields((body.Headers ?? []).filter((h) => typeof h?.Name === 'string' && typeof h.Value === 'string').map((h) => [h.Name as string, h.Value as string]))
}

// Headers the composer writes itself from the parsed fields, or that describe the
// original MIME structure (which the rebuilt message does not have).
const OWN_HEADERS = new Set(['from', 'to', 'cc', 'bcc', 'reply-to', 'subject', 'date', 'message-id', 'mime-version', 'content-type', 'content-transfer-encoding', 'content-disposition'])

async function rebuildMessage (body: PostmarkInbound): Promise<Buffer> {
  const headers = (body.Headers ?? [])
    .filter((h) => typeof h?.Name === 'string' && typeof h.Value === 'string' && /^[!-9;-~]{1,100}$/.test(h.Name) && !OWN_HEADERS.has(h.Name.toLowerCase()))
    .slice(0, 200)
    .map((h) => ({ key: h.Name as string, value: (h.Value as string).replace(/[\r\n]+/g, ' ') }))
  // Same JSON, same bytes: the boundary and any id we must invent come from the content,
  // not from chance (the composer would otherwise write a random Message-ID).
  const digest = createHash('sha256').update(JSON.stringify(body)).digest('hex')
  const original = (body.Headers ?? []).find((h) => h?.Name?.toLowerCase() === 'message-id')?.Value
  const messageId = original ?? `<${typeof body.MessageID === 'string' && body.MessageID !== '' ? body.MessageID : digest.slice(0, 32)}@inbound.postmarkapp.com>`
  const date = body.Date !== undefined && !Number.isNaN(Date.parse(body.Date)) ? new Date(body.Date) : new Date(0)
  const composer = new MailComposer({
    from: body.From ?? body.FromFull?.Email ?? '',
    ...(body.To ? { to: body.To } : {}),
    ...(body.Cc ? { cc: body.Cc } : {}),
    ...(body.ReplyTo ? { replyTo: body.ReplyTo } : {}),
    subject: body.Subject ?? '',
    date,
    messageId,
    headers,
    ...(typeof body.TextBody === 'string' && body.TextBody !== '' ? { text: body.TextBody } : {}),
    ...(typeof body.HtmlBody === 'string' && body.HtmlBody !== '' ? { html: body.HtmlBody } : {}),
    attachments: (body.Attachments ?? []).slice(0, 100).map((a) => ({
      filename: a.Name ?? 'attachment',
      content: Buffer.from(a.Content ?? '', 'base64'),
      contentType: a.ContentType ?? 'application/octet-stream',
      ...(a.ContentID ? { cid: a.ContentID.replace(/^<|>$/g, '') } : {})
    })),
    baseBoundary: digest.slice(0, 16)
  } as ConstructorParameters<typeof MailComposer>[0])
  return await composer.compile().build()
}
