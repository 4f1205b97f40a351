// The web role on a real port with a KEYS_DIR of our choosing, and the worker's
// security.txt publisher beside it: what real HTTP clients (GnuPG) talk to.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { Redis } from 'ioredis'
import { createLogger } from '../../src/log.js'
import { buildWeb } from '../../src/roles/web.js'
import { generateSealKeyPair, importPublicKey } from '../../src/seal/hpke.js'
import { createKeySource } from '../../src/keys/published.js'
import { startPublisher, type Publisher } from '../../src/keys/publisher.js'
import type { TeamKeyring } from '../../src/pgp/types.js'
import { testConfig } from '../helpers/config.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'

export interface KeyWeb {
  base: string
  port: number
  keysDir: string
  prefix: string
  logs: string[]
  get: (path: string, init?: RequestInit) => Promise<Response>
  publish: (keyring: TeamKeyring, env?: { expiresDays?: number, now?: () => Date }) => Promise<Publisher>
}

export async function startKeyWeb (t: { teardown: (fn: () => Promise<void> | void) => void }, publicKeys: Record<string, string>, env: Record<string, string> = {}): Promise<KeyWeb> {
  const dir = mkdtempSync(join(tmpdir(), 'intake-keys-'))
  const keysDir = join(dir, 'keys')
  mkdirSync(keysDir)
  for (const [name, armored] of Object.entries(publicKeys)) writeFileSync(join(keysDir, name), armored)
  const prefix = uniquePrefix('keys')
  const seal = generateSealKeyPair()
  const logs: string[] = []
  const log = createLogger({ level: 'debug', production: false, destination: new Writable({ write (chunk, _e, cb) { logs.push(String(chunk)); cb() } }) })
  const config = testConfig({
    REDIS_URL, QUEUE_PREFIX: prefix, KEYS_DIR: keysDir, OUTBOX_DIR: join(dir, 'outbox'), DATA_DIR: join(dir, '.data'),
    SECURITY_EMAIL: 'security@example.org', PUBLIC_URL: 'https://security.example.org', INBOUND_SECRET: 'keys-test-secret',
    SECURITY_POLICY_URL: 'https://github.com/example/.github/blob/main/SECURITY.md', ...env
  })
  const web = await buildWeb({ config, log, sealPublicKey: importPublicKey(seal.publicKey), inboundSecret: 'keys-test-secret' })
  await web.fastify.listen({ port: 0, host: '127.0.0.1' })
  const port = (web.fastify.server.address() as AddressInfo).port
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null })
  const publishers: Publisher[] = []
  t.teardown(async () => {
    for (const p of publishers) p.close()
    await web.close()
    redis.disconnect()
    await dropPrefix(prefix)
    rmSync(dir, { recursive: true, force: true })
  })
  const base = `http://127.0.0.1:${port}`
  return {
    base,
    port,
    keysDir,
    prefix,
    logs,
    get: async (path, init) => await fetch(base + path, init),
    async publish (keyring, opts = {}) {
      const publisher = await startPublisher({
        redis, prefix, keyring, log,
        keySource: createKeySource({ keysDir, production: false, ttlMs: 0 }),
        settings: { securityEmail: config.securityEmail, publicUrl: config.publicUrl, ...config.securityTxt, ...(opts.expiresDays === undefined ? {} : { expiresDays: opts.expiresDays }) },
        ...(opts.now === undefined ? {} : { now: opts.now })
      })
      publishers.push(publisher)
      await publisher.first
      return publisher
    }
  }
}
