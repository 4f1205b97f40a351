// Zero configuration: the worker's throw-away development key is published, loudly
// marked, through the same routes; production never publishes it.
import t from 'tap'
import { join } from 'node:path'
import { startGateway } from '../helpers/gateway.js'
import { loadPublication } from '../../src/keys/published.js'
import { DEV_PUBLIC_KEY_FILE } from '../../src/pgp/team-key.js'
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
