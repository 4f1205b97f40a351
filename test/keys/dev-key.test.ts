// Zero configuration: the worker's throw-away development key is published, loudly
// marked, through the same routes; production never publishes it.
import t from 'tap'
import { join } from 'node:path'
import { startGateway } from '../helpers/gateway.js'
import { loadPublication } from '../../src/keys/published.js'
import { DEV_PUBLIC_KEY_FILE } from '../../src/domain/dev-key.js'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'

t.test('development: the dev key is published and marked as such', async (t) => {
  const gw = await startGateway(t, {})
  const inject = async (url: string) => await gw.web.fastify.inject({ method: 'GET', url })
  const key = await inject('/pgp-key.asc')
  t.equal(key.statusCode, 200)
  t.match(key.body, /BEGIN PGP PUBLIC KEY BLOCK/)
  const page = await inject('/')
  t.match(page.body, /DEVELOPMENT KEY/)
  const txt = await gw.waitFor(async () => { const r = await inject('/.well-known/security.txt'); return r.statusCode === 200 ? r.body : undefined }, 'security.txt')
  t.match(txt, /# DEVELOPMENT KEY/)

  const prodDir = mkdtempSync(join(tmpdir(), 'intake-prodkeys-'))
  t.teardown(() => rmSync(prodDir, { recursive: true, force: true }))
  copyFileSync(join(gw.dir, 'keys', DEV_PUBLIC_KEY_FILE), join(prodDir, DEV_PUBLIC_KEY_FILE))
  const prod = await loadPublication(prodDir, { production: true })
  t.equal(prod.primary, undefined, 'production never publishes the dev key')
  t.match(prod.refused[0]?.reason, /development key/)
  const dev = await loadPublication(prodDir, { production: false })
  t.equal(dev.primary?.development, true)
})

t.test('an expired development key is replaced, so development always publishes one', async (t) => {
  const { generateKey } = await import('openpgp')
  const { writeFileSync, mkdirSync } = await import('node:fs')
  const { loadWorkerKeyring, DEV_SECRET_KEY_FILE } = await import('../../src/pgp/team-key.js')
  const { testConfig } = await import('../helpers/config.js')
  const { createLogger } = await import('../../src/log.js')
  const dir = mkdtempSync(join(tmpdir(), 'intake-devkey-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const keysDir = join(dir, 'keys')
  mkdirSync(keysDir)
  const old = await generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'security@example.org' }], date: new Date(Date.now() - 100 * 86_400_000), keyExpirationTime: 90 * 86400, format: 'object' })
  writeFileSync(join(keysDir, DEV_SECRET_KEY_FILE), old.privateKey.armor())
  writeFileSync(join(keysDir, DEV_PUBLIC_KEY_FILE), old.publicKey.armor())
  const keyring = await loadWorkerKeyring(testConfig({ KEYS_DIR: keysDir }), createLogger({ level: 'silent', production: false }))
  t.not(keyring.fingerprint, old.privateKey.getFingerprint().toUpperCase(), 'a new key')
  const pub = await loadPublication(keysDir, { production: false })
  t.equal(pub.primary?.fingerprint, keyring.fingerprint, 'and it is the one published')
})
