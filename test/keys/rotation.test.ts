// Key rotation: the worker holds the old and the new secret key, so mail encrypted to
// either decrypts; only the new key is published (KEYS_DIR holds the new public key),
// and security.txt is signed by and names the new key. With the old public key still in
// KEYS_DIR it is published beside the new one (retiring) but WKD and security.txt name
// only the new one.
import t from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../helpers/gateway.js'
import { createGpg, message, pgpMimeEncrypted, textPart } from '../helpers/gpg.js'
import { makeTeamKey } from '../helpers/team-key.js'
import { wkdHash } from '../../src/keys/wkd.js'
import { parseSecurityTxt } from '../../src/keys/security-txt.js'
import { loadTeamKeyring } from '../../src/pgp/keyring.js'
import { startKeyWeb } from './harness.js'

async function fingerprintsOf (armoredOrBinary: string | Buffer): Promise<string[]> {
  const gpg = await createGpg()
  try {
    await gpg.run(['--import'], armoredOrBinary)
    const listing = (await gpg.run(['--with-colons', '--list-keys'])).toString()
    return [...listing.matchAll(/^pub:[^\n]*\nfpr:+([0-9A-F]{40}):/gm)].map((m) => m[1] as string).sort()
  } finally {
    await gpg.close()
  }
}

t.test('old and new key both decrypt; only the new key is published', async (t) => {
  const old = await makeTeamKey({ expiresInDays: 60 })
  await new Promise((resolve) => setTimeout(resolve, 1100)) // creation times are whole seconds
  const fresh = await makeTeamKey({ expiresInDays: 730 })
  const dir = mkdtempSync(join(tmpdir(), 'intake-rotation-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const keysDir = join(dir, 'keys')
  mkdirSync(keysDir)
  writeFileSync(join(keysDir, `${fresh.fingerprint}.asc`), fresh.armoredPublic)
  // Old key first in the secret store: order does not choose the published key, age does.
  const gw = await startGateway(t, { KEYS_DIR: keysDir, PGP_PRIVATE_KEY: old.armoredSecret + '\n' + fresh.armoredSecret, SECURITY_EMAIL: 'security@example.org' })

  const keyring = await loadTeamKeyring({ armored: [old.armoredSecret + fresh.armoredSecret] })
  t.equal(keyring.fingerprint, fresh.fingerprint, 'the keyring names the newest key')

  const gpg = await createGpg()
  t.teardown(gpg.close)
  await gpg.importKey(old.armoredPublic)
  await gpg.importKey(fresh.armoredPublic)
  const ids: string[] = []
  for (const [name, key] of [['old', old], ['new', fresh]] as const) {
    const encrypted = await gpg.encrypt(textPart(`secret details for the ${name} key CANARY-${name}`), { to: [key.fingerprint] })
    const res = await gw.post(message({ messageId: `rot-${name}@example.net`, subject: `Report to the ${name} key` }, pgpMimeEncrypted(encrypted)))
    t.equal(res.status, 200)
    ids.push(res.id as string)
  }
  for (const [i, name] of ['old', 'new'].entries()) {
    const file = join(gw.dir, 'outbox', 'advisories', `${ids[i]}.json`)
    const advisory = await gw.waitFor(() => { try { return JSON.parse(readFileSync(file, 'utf8')) as { description: string } } catch { return undefined } }, `advisory for the ${name} key`)
    t.match(advisory.description, `CANARY-${name}`, `mail encrypted to the ${name} key decrypted`)
  }

  const inject = async (url: string) => await gw.web.fastify.inject({ method: 'GET', url })
  const key = await inject('/pgp-key.asc')
  t.equal(key.statusCode, 200)
  t.same(await fingerprintsOf(key.body), [fresh.fingerprint], '/pgp-key.asc: only the new key')
  t.equal((await inject(`/pks/lookup?op=get&search=0x${old.fingerprint}`)).statusCode, 404, 'HKP does not serve the old key')
  const wkd = await inject(`/.well-known/openpgpkey/hu/${wkdHash('security@example.org')}`)
  t.same(await fingerprintsOf(wkd.rawPayload), [fresh.fingerprint], 'WKD: the new key')
  const txt = await gw.waitFor(async () => { const r = await inject('/.well-known/security.txt'); return r.statusCode === 200 ? r.body : undefined }, 'security.txt')
  t.match(txt, `openpgp4fpr:${fresh.fingerprint.toLowerCase()}`)
  t.same(parseSecurityTxt(txt).errors, [])
})

t.test('a retiring key stays published beside the new one, named nowhere else', async (t) => {
  const old = await makeTeamKey({ expiresInDays: 60 })
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const fresh = await makeTeamKey({ expiresInDays: 730 })
  const web = await startKeyWeb(t, { 'old.asc': old.armoredPublic, 'new.asc': fresh.armoredPublic })
  await web.publish(fresh.keyring)
  const all = Buffer.from(await (await web.get('/pgp-key.asc')).arrayBuffer())
  t.same(await fingerprintsOf(all), [old.fingerprint, fresh.fingerprint].sort(), '/pgp-key.asc: both')
  t.equal((await web.get(`/pks/lookup?op=get&search=0x${old.fingerprint}`)).status, 200, 'HKP: the old key by its fingerprint')
  const wkd = Buffer.from(await (await web.get(`/.well-known/openpgpkey/hu/${wkdHash('security@example.org')}`)).arrayBuffer())
  t.same(await fingerprintsOf(wkd), [fresh.fingerprint], 'WKD: only the new key, so clients encrypt to it')
  const txt = await (await web.get('/.well-known/security.txt')).text()
  t.match(txt, `openpgp4fpr:${fresh.fingerprint.toLowerCase()}`)
  t.notMatch(txt, old.fingerprint.toLowerCase())
  const page = await (await web.get('/')).text()
  t.match(page, /being retired/)
})

t.test('the worker says so when a published key has no secret key', async (t) => {
  const published = await makeTeamKey({ expiresInDays: 100 })
  const held = await makeTeamKey({ expiresInDays: 100 })
  const web = await startKeyWeb(t, { 'p.asc': published.armoredPublic })
  await web.publish(held.keyring)
  t.ok(web.logs.some((l) => l.includes(`published primary key ${published.fingerprint}`) && l.includes('cannot be decrypted')))
  t.equal((await web.get('/.well-known/security.txt')).status, 503, 'not signed by a key that is not the published one')
})
