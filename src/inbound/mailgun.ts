// Mailgun Routes -> forward("https://.../inbound/mailgun/mime"): the raw message in
// `body-mime`, urlencoded (or multipart when the mail has attachments). The signature
// is HMAC-SHA256(signing key, timestamp + token) and does NOT cover the body, so a
// captured signature could carry any message: timestamps older than 5 minutes are
// refused and each token is taken once (kept in Redis). A token seen again is only let
// through with the very same message (Mailgun retrying after a 503 or a lost answer),
// which the delivery dedup then answers with the same id.
import { createHash, createHmac } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { safeEqual } from './hmac.js'
import { deliver, type DeliverDeps } from './deliver.js'
import { parseUrlencoded, readMultipart, text, type FormFields } from './forms.js'
import { unauthorized } from './basic-auth.js'
import { unavailable } from './respond.js'

const MAILGUN_MAX_AGE_SECONDS = 300
const TOKEN_TTL_SECONDS = 2 * MAILGUN_MAX_AGE_SECONDS + 60 // outlives any timestamp still accepted

export function mailgunSignature (signingKey: string, timestamp: string, token: string): string {
  return createHmac('sha256', signingKey).update(timestamp + token).digest('hex')
}

function verifyMailgun (signingKey: string, fields: { timestamp?: string | undefined, token?: string | undefined, signature?: string | undefined }, now = Date.now()): boolean {
  const { timestamp, token, signature } = fields
  if (timestamp === undefined || token === undefined || signature === undefined) return false
  if (!/^\d{1,12}$/.test(timestamp) || !/^[A-Za-z0-9_-]{1,256}$/.test(token) || !/^[0-9a-f]{64}$/i.test(signature)) return false
  if (Math.abs(now / 1000 - Number(timestamp)) > MAILGUN_MAX_AGE_SECONDS) return false
  return safeEqual(mailgunSignature(signingKey, timestamp, token), signature.toLowerCase())
}

export async function mailgunRoute (app: FastifyInstance, deps: DeliverDeps & { signingKey: string, maxBytes: number }): Promise<void> {
  app.post('/inbound/mailgun/mime', { bodyLimit: deps.maxBytes }, async (req, reply) => {
    const fields = await readForm(req, reply, deps.maxBytes)
    if (fields === undefined) return await reply.code(415).send({ error: 'send application/x-www-form-urlencoded or multipart/form-data' })
    const auth = { timestamp: text(fields, 'timestamp'), token: text(fields, 'token'), signature: text(fields, 'signature') }
    if (!verifyMailgun(deps.signingKey, auth)) {
      req.log.warn({ provider: 'mailgun' }, 'inbound: authentication failed')
      return await unauthorized(reply)
    }
    const raw = fields.get('body-mime')
    if (raw === undefined || raw.length === 0) return await reply.code(400).send({ error: 'no body-mime field (is the route forwarding to a URL ending in "mime"?)' })
    return await onceForToken(req, reply, deps, auth.token as string, raw, async () => await deliver(req, reply, deps, {
      raw,
      source: 'mailgun',
      envelope: { to: list(text(fields, 'recipient')), ...optional('from', text(fields, 'sender')) },
      verdicts: {}
    }))
  })
}

async function readForm (req: FastifyRequest, reply: FastifyReply, maxBytes: number): Promise<FormFields | undefined> {
  if (Buffer.isBuffer(req.body)) return parseUrlencoded(req.body)
  if (req.isMultipart()) return await readMultipart(req, reply, ['body-mime'], maxBytes)
  return undefined
}

async function onceForToken (req: FastifyRequest, reply: FastifyReply, deps: DeliverDeps, token: string, raw: Buffer, run: () => Promise<unknown>) {
  if (deps.redis.status !== 'ready') return await unavailable(reply)
  const key = `${deps.prefix}:gw:mailgun-token:${createHash('sha256').update(token).digest('hex')}`
  // The exact bytes, not the delivery hash (Message-ID + body): that one ignores the
  // header block, where Mailgun writes its spam verdict, so a replayed token could carry
  // the same message with X-Mailgun-Sflag taken out.
  const hash = createHash('sha256').update(raw).digest('hex')
  try {
    // The token is bound to the first message it came with, for good: a retry of that
    // message (after a 503 or a lost answer) passes and is deduplicated; any other body is refused.
    const claimed = await deps.redis.set(key, hash, 'EX', TOKEN_TTL_SECONDS, 'NX') === 'OK'
    if (!claimed && await deps.redis.get(key) !== hash) {
      req.log.warn({ provider: 'mailgun' }, 'inbound: token replayed with another message')
      return await unauthorized(reply)
    }
  } catch {
    return await unavailable(reply)
  }
  await run()
  return reply
}

function list (value: string | undefined): string[] {
  return (value ?? '').split(',').map((v) => v.trim()).filter((v) => v !== '')
}

function optional<K extends string> (key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined || value === '' ? {} : { [key]: value }) as { [P in K]?: string }
}
