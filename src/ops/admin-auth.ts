// Who may see /metrics and /admin/*: with ADMIN_BASIC_AUTH, whoever sends it (compared
// in constant time); without it, nobody in production (the routes are not registered)
// and, in development, only a visitor on the loopback interface.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { safeEqual } from '../inbound/hmac.js'

export type AdminGuard = (req: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>

/** The onRequest hook guarding admin routes, or undefined when they must not exist at all. */
export function adminGuard (opts: { adminBasicAuth?: string | undefined, production: boolean }): AdminGuard | undefined {
  const credentials = opts.adminBasicAuth
  if (credentials !== undefined) {
    const expected = 'Basic ' + Buffer.from(credentials).toString('base64')
    return async (req, reply) => {
      const given = req.headers.authorization ?? ''
      if (safeEqual(expected, given)) return undefined
      return await reply.code(401).header('www-authenticate', 'Basic realm="intake admin", charset="UTF-8"').send({ error: 'authentication required' })
    }
  }
  if (opts.production) return undefined
  return async (req, reply) => {
    if (fromLoopback(req)) return undefined
    return await reply.code(403).send({ error: 'admin routes are open on loopback only in development; set ADMIN_BASIC_AUTH' })
  }
}

/**
 * The socket's peer, not req.ip: with trustProxy, req.ip comes from X-Forwarded-For,
 * which any client can write. A request relayed by a local proxy carries one of the
 * relay headers below and is refused too, since its real origin is unknown.
 */
function fromLoopback (req: FastifyRequest): boolean {
  const peer = req.raw.socket.remoteAddress ?? ''
  const loopback = peer === '::1' || peer.startsWith('127.') || peer.startsWith('::ffff:127.')
  return loopback && !RELAY_HEADERS.some((name) => req.headers[name] !== undefined)
}

// What local proxies write: nginx's X-Real-IP, RFC 7239's Forwarded, Fly's and
// Cloudflare's own; any of them means the visitor is somewhere else.
const RELAY_HEADERS = ['x-forwarded-for', 'forwarded', 'x-real-ip', 'fly-client-ip', 'cf-connecting-ip', 'true-client-ip', 'x-client-ip']
