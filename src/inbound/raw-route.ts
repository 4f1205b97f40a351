// POST /inbound/raw: a relay you control (Cloudflare Email Worker, Postfix pipe, the
// CLI's send-test) posts the raw RFC 5322 bytes, signed with INBOUND_SECRET.
import type { FastifyInstance } from 'fastify'
import { limits } from '../domain/limits.js'
import { checkRawHeaders, verifyRaw } from './hmac.js'
import { headerTooLarge } from './message-head.js'
import { replyAccepted, type InboundDeps } from './respond.js'

export async function rawRoute (app: FastifyInstance, deps: InboundDeps & { secret: string, maxBytes?: number }): Promise<void> {
  app.post('/inbound/raw', {
    bodyLimit: deps.maxBytes ?? limits.rawMessageBytes,
    // Refuse unsigned or stale requests before reading (up to 40 MiB of) body; after
    // the rate limiter (onRequest), so refused requests count too.
    preParsing: async (req, reply, payload) => {
      const early = checkRawHeaders(authHeaders(req.headers))
      if (!early.ok) {
        req.log.warn({ reason: early.reason }, 'inbound raw: authentication failed')
        return reply.code(401).send({ error: 'authentication failed' })
      }
      return payload
    }
  }, async (req, reply) => {
    const body = req.body
    if (!Buffer.isBuffer(body)) return reply.code(415).send({ error: 'send the message as Content-Type: message/rfc822' })
    const auth = verifyRaw(deps.secret, authHeaders(req.headers), body)
    if (!auth.ok) {
      req.log.warn({ reason: auth.reason }, 'inbound raw: authentication failed')
      return reply.code(401).send({ error: 'authentication failed' })
    }
    // Whatever the bytes hold is the worker's to judge (advisory or quarantine): only an
    // empty body or one too large is refused, as a provider would drop the message.
    if (body.length === 0) return reply.code(400).send({ error: 'empty body' })
    if (headerTooLarge(body)) return reply.code(413).send({ error: 'header block too large' })
    return replyAccepted(req, reply, deps, body, 'raw')
  })
}

function authHeaders (headers: Record<string, string | string[] | undefined>) {
  return { timestamp: header(headers['x-intake-timestamp']), signature: header(headers['x-intake-signature']) }
}

function header (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
