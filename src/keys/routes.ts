// Every HTTP route that hands out the team key: /pgp-key.asc, WKD (direct and advanced),
// HKP, security.txt and the human page. Registered as one encapsulated plugin so its
// ETag hook and CORS header touch no other route. Nothing here holds a private key: keys
// come from KEYS_DIR, the signed security.txt from Redis (written by the worker).
import type { FastifyInstance, FastifyReply } from 'fastify'
import fastifyEtag from '@fastify/etag'
import type { Redis } from 'ioredis'
import type { Logger } from '../log.js'
import { armorKeys, createKeySource, publicationWarnings, type KeySource, type Publication, type PublishedKey } from './published.js'
import { wkdDomain, wkdHash } from './wkd.js'
import { machineReadableIndex, matchKeys, parseSearch } from './hkp.js'
import { securityTxtKey } from '../store/security-txt.js'
import { parseSecurityTxt } from './security-txt.js'
import { humanPage } from './page.js'

export interface KeyRoutesOptions {
  keysDir: string
  production: boolean
  securityEmail: string
  publicUrl: string
  redis: Redis
  /** Redis key prefix (QUEUE_PREFIX); not `prefix`, which Fastify reads as a route prefix. */
  queuePrefix: string
  keySource?: KeySource
}

const MAX_AGE = 'public, max-age=3600'

export async function keyRoutes (fastify: FastifyInstance, opts: KeyRoutesOptions): Promise<void> {
  const keys = opts.keySource ?? createKeySource({ keysDir: opts.keysDir, production: opts.production })
  const domain = wkdDomain(opts.securityEmail)
  await fastify.register(fastifyEtag, { algorithm: 'sha256' })
  fastify.addHook('onSend', async (_req, reply) => {
    // Web clients (Mailvelope, Proton's key lookup, FlowCrypt) fetch keys cross-origin.
    reply.header('access-control-allow-origin', '*')
    // A 404 is heuristically cacheable (RFC 9111 4.2.2): without this a CDN could keep
    // answering "no key" for an address or fingerprint after the key is published.
    if (reply.statusCode >= 400 && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
  })

  // On start, tell the operator what is (not) being published: a refused key or one
  // about to expire is something to fix before reporters notice.
  fastify.addHook('onReady', async () => {
    const pub = await keys.get().catch(() => undefined)
    for (const w of pub === undefined ? ['KEYS_DIR could not be read'] : publicationWarnings(pub)) (fastify.log as Logger).warn(w)
  })

  fastify.get('/pgp-key.asc', async (_req, reply) => {
    const pub = await keys.get()
    if (pub.primary === undefined) return noKey(reply)
    return cacheable(reply, 'application/pgp-keys').send(pub.armored)
  })

  // WKD. The local part must be one the primary key carries at our domain; anything else
  // is a 404, so the directory does not answer for addresses we never published.
  const wkd = async (hash: string, reply: FastifyReply) => {
    const pub = await keys.get()
    const key = pub.primary
    if (key === undefined || !/^[a-z0-9]{32}$/.test(hash) || !wkdAddresses(key, domain).some((a) => wkdHash(a) === hash)) {
      return reply.code(404).type('text/plain; charset=utf-8').send('no key for this address\n')
    }
    return cacheable(reply, 'application/octet-stream').send(Buffer.from(key.binary))
  }
  const policy = async (_req: unknown, reply: FastifyReply) => cacheable(reply, 'text/plain; charset=utf-8').send('')
  fastify.get<{ Params: { hash: string } }>('/.well-known/openpgpkey/hu/:hash', async (req, reply) => await wkd(req.params.hash, reply))
  fastify.get('/.well-known/openpgpkey/policy', policy)
  fastify.get<{ Params: { domain: string, hash: string } }>('/.well-known/openpgpkey/:domain/hu/:hash', async (req, reply) => {
    if (req.params.domain.toLowerCase() !== domain) return reply.code(404).type('text/plain; charset=utf-8').send('unknown domain\n')
    return await wkd(req.params.hash, reply)
  })
  fastify.get<{ Params: { domain: string } }>('/.well-known/openpgpkey/:domain/policy', async (req, reply) => {
    if (req.params.domain.toLowerCase() !== domain) return reply.code(404).type('text/plain; charset=utf-8').send('unknown domain\n')
    return await policy(req, reply)
  })

  // HKP lookups: get (armored) and index (machine-readable); no uploads, no other ops.
  fastify.get<{ Querystring: Record<string, string | string[] | undefined> }>('/pks/lookup', async (req, reply) => {
    const op = single(req.query.op)
    const search = single(req.query.search)
    if (op !== 'get' && op !== 'index') return reply.code(501).type('text/plain; charset=utf-8').send('not implemented: only op=get and op=index\n')
    const parsed = search === undefined ? undefined : parseSearch(search)
    if (parsed === undefined) return reply.code(400).type('text/plain; charset=utf-8').send('search must be an address, 0x<16-hex key id> or 0x<40-hex fingerprint>\n')
    const pub = await keys.get()
    const found = matchKeys(pub.keys, parsed)
    if (found.length === 0) return reply.code(404).type('text/plain; charset=utf-8').send('no results found\n')
    if (op === 'index') return cacheable(reply, 'text/plain; charset=utf-8').send(machineReadableIndex(found))
    return cacheable(reply, 'application/pgp-keys').send(armorKeys(found.map((k) => k.binary)))
  })

  const securityTxt = async (_req: unknown, reply: FastifyReply) => {
    let text: string | null
    try {
      text = await opts.redis.get(securityTxtKey(opts.queuePrefix))
    } catch {
      return unavailable(reply, 'security.txt is unavailable right now (state store unreachable)')
    }
    if (text === null) return unavailable(reply, 'security.txt is not signed yet: the worker, which holds the team key, signs and publishes it when it starts')
    const stale = staleSecurityTxt(text, await keys.get())
    if (stale !== undefined) return unavailable(reply, `security.txt is being re-signed (${stale})`)
    return cacheable(reply, 'text/plain; charset=utf-8').send(text)
  }
  fastify.get('/.well-known/security.txt', securityTxt)
  fastify.get('/security.txt', securityTxt)

  const page = async (_req: unknown, reply: FastifyReply) => {
    const pub = await keys.get()
    if (pub.primary === undefined) return noKey(reply)
    return cacheable(reply, 'text/html; charset=utf-8', 'public, max-age=300')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'")
      .send(humanPage({ key: pub.primary, others: pub.keys.slice(1), securityEmail: opts.securityEmail, publicUrl: opts.publicUrl }))
  }
  fastify.get('/', page)
  fastify.get('/security', page)
}

function cacheable (reply: FastifyReply, type: string, cacheControl = MAX_AGE): FastifyReply {
  return reply.type(type).header('cache-control', cacheControl)
}

function noKey (reply: FastifyReply) {
  return unavailable(reply, 'no team key is published yet (KEYS_DIR holds no valid public key)')
}

function unavailable (reply: FastifyReply, message: string) {
  return reply.code(503).header('retry-after', '60').header('cache-control', 'no-store').type('text/plain; charset=utf-8').send(message + '\n')
}

/**
 * Why the signed text in Redis must not be served, or undefined. Redis drops it at its
 * Expires, but a clock skew or a missing TTL must not serve an expired file; and a key
 * that stopped being published (revoked, expired, file removed) must not stay advertised
 * until the worker's next hourly signing.
 */
function staleSecurityTxt (text: string, pub: Publication, now = new Date()): string | undefined {
  const parsed = parseSecurityTxt(text, now)
  if (parsed.expires === undefined || parsed.expires.getTime() <= now.getTime()) return 'expired'
  const named = parsed.fields
    .filter((f) => f.name.toLowerCase() === 'encryption' && f.value.toLowerCase().startsWith('openpgp4fpr:'))
    .map((f) => f.value.slice('openpgp4fpr:'.length).toUpperCase())
  if (named.some((fpr) => !pub.keys.some((k) => k.fingerprint === fpr))) return 'it names a key that is no longer published'
  return undefined
}

function wkdAddresses (key: PublishedKey, domain: string): string[] {
  return key.emails.filter((e) => wkdDomain(e) === domain)
}

function single (value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
