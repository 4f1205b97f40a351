// Basic authentication for the providers that have nothing better (SendGrid, Postmark:
// credentials in the webhook URL). Checked on the headers alone, before any body is read:
// a preParsing hook, so it runs after the rate limiter (an onRequest hook) and counts.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { safeEqual } from './hmac.js'

export function basicAuthHook (userPass: string, name: string) {
  return async function checkBasicAuth (req: FastifyRequest, reply: FastifyReply, payload: unknown) {
    const header = req.headers.authorization ?? ''
    const match = /^Basic ([A-Za-z0-9+/=]{1,1024})$/i.exec(header.trim())
    const given = match?.[1] !== undefined ? Buffer.from(match[1], 'base64').toString('utf8') : ''
    // One comparison of the whole "user:password", constant-time, also when nothing was sent.
    if (!safeEqual(userPass, given)) {
      req.log.warn({ provider: name }, 'inbound: authentication failed')
      return await reply.code(401).header('www-authenticate', 'Basic realm="inbound", charset="UTF-8"').send({ error: 'authentication failed' })
    }
    return payload
  }
}

export function unauthorized (reply: FastifyReply) {
  return reply.code(401).send({ error: 'authentication failed' })
}
