// Each role keeps BullMQ on its own Redis connection and the gateway's state on another:
// ioredis copies every script defined on a connection (BullMQ defines ~60) into each
// pipeline or MULTI made on it, so state writes sharing BullMQ's connection paid for
// that copy on every request and every progress record. Checked from the server's side:
// MONITOR names the client of each command, CLIENT LIST names the client.
import t from 'tap'
import { Redis } from 'ioredis'
import { loadConfig } from '../../src/config.js'
import { createLogger } from '../../src/log.js'
import { buildWeb } from '../../src/roles/web.js'
import { signRaw } from '../../src/inbound/hmac.js'
import { generateSealKeyPair, importPublicKey } from '../../src/seal/hpke.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'

const SECRET = 'connections-test-secret'

t.test('web role: the intake writes on the state connection, the queue on its own', async (t) => {
  const seal = generateSealKeyPair()
  const prefix = uniquePrefix('conns')
  t.teardown(async () => await dropPrefix(prefix))
  const config = loadConfig({ LOG_LEVEL: 'silent', NODE_ENV: 'test', QUEUE_PREFIX: prefix, REDIS_URL, SEAL_PUBLIC_KEY: seal.publicKey, INBOUND_SECRET: SECRET }, 'web')
  const web = await buildWeb({ config, log: createLogger({ level: 'silent', production: false }), sealPublicKey: importPublicKey(seal.publicKey), inboundSecret: SECRET })
  t.teardown(web.close)

  const admin = new Redis(REDIS_URL)
  const monitorBase = new Redis(REDIS_URL)
  const monitor = await monitorBase.monitor() // a connection of its own
  t.teardown(() => { monitor.disconnect(); monitorBase.disconnect(); admin.disconnect() })
  const seen: Array<{ source: string, command: string, key: string }> = []
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (args.some((a) => a.startsWith(prefix))) seen.push({ source, command: args[0]!.toLowerCase(), key: args.find((a) => a.startsWith(prefix)) ?? '' })
  })

  const body = Buffer.from('From: r@example.net\r\nTo: security@example.org\r\nMessage-ID: <conns@example.net>\r\nSubject: x\r\n\r\nreport\r\n')
  const ts = Math.floor(Date.now() / 1000)
  const res = await web.fastify.inject({ method: 'POST', url: '/inbound/raw', headers: { 'content-type': 'message/rfc822', 'x-intake-timestamp': String(ts), 'x-intake-signature': signRaw(SECRET, ts, body) }, payload: body })
  t.equal(res.statusCode, 200)
  await new Promise((resolve) => setTimeout(resolve, 200)) // MONITOR lines trail the replies

  const names = new Map<string, string>()
  for (const line of (await admin.client('LIST') as string).split('\n')) {
    const addr = /addr=(\S+)/.exec(line)?.[1]
    const name = /name=(\S*)/.exec(line)?.[1]
    if (addr !== undefined && name !== undefined) names.set(addr, name)
  }
  const by = (match: (e: { command: string, key: string }) => boolean) => [...new Set(seen.filter(match).map((e) => names.get(e.source) ?? e.source))]
  t.same(by((e) => e.command === 'set' && e.key.includes(':gw:sealed:')), ['intake-web-state'], 'the sealed message is stored on the state connection')
  t.same(by((e) => e.command === 'eval' || e.command === 'evalsha'), ['intake-web-queue'], 'BullMQ runs its scripts on the queue connection')
})
