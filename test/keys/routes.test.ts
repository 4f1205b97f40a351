// Every publication route, read by GnuPG itself where GnuPG has a client for it:
// /pgp-key.asc, WKD (hash from gpg-wks-client, binary key imported by gpg), HKP
// (gpg --recv-keys against our port), security.txt (gpg --verify), and the human page.
import t from 'tap'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createGpg, exec, type Gpg } from '../helpers/gpg.js'
import { makeTeamKey } from '../helpers/team-key.js'
import { parseSecurityTxt } from '../../src/keys/security-txt.js'
import { startKeyWeb } from './harness.js'

const WKS_CLIENT = ['/usr/lib/gnupg/gpg-wks-client', '/usr/libexec/gpg-wks-client'].find((p) => existsSync(p)) ?? 'gpg-wks-client'

async function freshGpg (t: { teardown: (fn: () => Promise<void>) => void }): Promise<Gpg> {
  const gpg = await createGpg()
  t.teardown(gpg.close) // gpgconf --kill all: the dirmngr and gpg-agent this home started
  return gpg
}

async function fingerprintsIn (gpg: Gpg): Promise<string[]> {
  const listing = (await gpg.run(['--with-colons', '--list-keys'])).toString()
  return [...listing.matchAll(/^pub:(?:[^\n]*)\nfpr:+([0-9A-F]{40}):/gm)].map((m) => m[1] as string)
}

t.test('one team key, every route', async (t) => {
  const team = await makeTeamKey({ expiresInDays: 400 })
  const web = await startKeyWeb(t, { 'team.asc': team.armoredPublic })

  t.test('/pgp-key.asc: armored, cacheable, HEAD, 304, CORS; gpg imports it', async (t) => {
    const res = await web.get('/pgp-key.asc')
    t.equal(res.status, 200)
    t.equal(res.headers.get('content-type'), 'application/pgp-keys')
    t.match(res.headers.get('cache-control'), /max-age=\d+/)
    t.equal(res.headers.get('access-control-allow-origin'), '*')
    const etag = res.headers.get('etag')
    t.ok(etag, 'has an ETag')
    const text = await res.text()
    t.match(text, /^-----BEGIN PGP PUBLIC KEY BLOCK-----/)
    const head = await web.get('/pgp-key.asc', { method: 'HEAD' })
    t.equal(head.status, 200)
    t.equal(head.headers.get('etag'), etag)
    t.equal(head.headers.get('content-type'), 'application/pgp-keys')
    t.equal((await head.arrayBuffer()).byteLength, 0)
    const again = await web.get('/pgp-key.asc', { headers: { 'if-none-match': etag as string } })
    t.equal(again.status, 304)
    const gpg = await freshGpg(t)
    await gpg.importKey(text)
    t.same(await fingerprintsIn(gpg), [team.fingerprint])
  })

  t.test('WKD: gpg-wks-client hash, direct and advanced; binary key; policy; 404 otherwise', async (t) => {
    const [hash] = (await exec(WKS_CLIENT, ['--print-wkd-hash', 'security@example.org'])).toString().trim().split(/\s+/)
    for (const path of [`/.well-known/openpgpkey/hu/${hash}?l=security`, `/.well-known/openpgpkey/example.org/hu/${hash}?l=security`]) {
      const res = await web.get(path)
      t.equal(res.status, 200, path)
      t.equal(res.headers.get('content-type'), 'application/octet-stream')
      t.equal(res.headers.get('access-control-allow-origin'), '*')
      t.ok(res.headers.get('etag'))
      t.match(res.headers.get('cache-control'), /max-age/)
      const binary = Buffer.from(await res.arrayBuffer())
      t.not(binary.subarray(0, 5).toString(), '-----', 'binary, not armored')
      const gpg = await freshGpg(t)
      await gpg.run(['--import'], binary)
      t.same(await fingerprintsIn(gpg), [team.fingerprint])
      t.equal((await web.get(path, { method: 'HEAD' })).status, 200)
    }
    for (const path of ['/.well-known/openpgpkey/policy', '/.well-known/openpgpkey/example.org/policy']) {
      const res = await web.get(path)
      t.equal(res.status, 200, path)
      t.equal(res.headers.get('access-control-allow-origin'), '*')
    }
    const [other] = (await exec(WKS_CLIENT, ['--print-wkd-hash', 'someone-else@example.org'])).toString().trim().split(/\s+/)
    t.equal((await web.get(`/.well-known/openpgpkey/hu/${other}`)).status, 404, 'another local part')
    t.equal((await web.get(`/.well-known/openpgpkey/example.net/hu/${hash}`)).status, 404, 'another domain')
    t.equal((await web.get('/.well-known/openpgpkey/example.net/policy')).status, 404)
  })

  t.test('HKP: gpg --recv-keys by fingerprint; index; 404; 501', async (t) => {
    const gpg = await freshGpg(t)
    await gpg.run(['--keyserver', `hkp://127.0.0.1:${web.port}`, '--recv-keys', team.fingerprint])
    t.same(await fingerprintsIn(gpg), [team.fingerprint], 'imported through HKP')

    const keyId = team.fingerprint.slice(-16)
    for (const search of [`0x${team.fingerprint}`, `0x${keyId.toLowerCase()}`, 'security@example.org', 'SECURITY@example.org']) {
      const res = await web.get(`/pks/lookup?op=get&options=mr&search=${encodeURIComponent(search)}`)
      t.equal(res.status, 200, search)
      t.equal(res.headers.get('content-type'), 'application/pgp-keys')
      t.match(await res.text(), /BEGIN PGP PUBLIC KEY BLOCK/)
    }
    const index = await web.get('/pks/lookup?op=index&options=mr&search=security%40example.org')
    t.equal(index.status, 200)
    const lines = (await index.text()).trim().split('\n')
    t.equal(lines[0], 'info:1:1')
    t.match(lines[1], new RegExp(`^pub:${team.fingerprint}:22::\\d+:\\d+:$`))
    t.match(lines[2], /^uid:Security Team <security@example.org>:\d+::$/)
    t.equal((await web.get('/pks/lookup?op=get&search=0x0123456789ABCDEF')).status, 404)
    t.equal((await web.get('/pks/lookup?op=get&search=nobody@example.org')).status, 404)
    t.equal((await web.get('/pks/lookup?op=stats')).status, 501)
    t.equal((await web.get('/pks/lookup?op=vindex&search=security@example.org')).status, 501)
    t.equal((await web.get('/pks/lookup?op=get&search=Security')).status, 400)
    t.equal((await web.get(`/pks/lookup?op=get&search=0x${team.fingerprint}`, { method: 'HEAD' })).status, 200)
  })

  t.test('security.txt: 503 until the worker signed it; then RFC 9116 and gpg --verify', async (t) => {
    const before = await web.get('/.well-known/security.txt')
    t.equal(before.status, 503)
    t.match(await before.text(), /not signed yet/)

    await web.publish(team.keyring)
    for (const path of ['/.well-known/security.txt', '/security.txt']) {
      const res = await web.get(path)
      t.equal(res.status, 200, path)
      t.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8')
      t.ok(res.headers.get('etag'))
      t.match(res.headers.get('cache-control'), /max-age/)
      t.equal((await web.get(path, { method: 'HEAD' })).status, 200)
    }
    const text = await (await web.get('/.well-known/security.txt')).text()
    const gpg = await freshGpg(t)
    await gpg.importKey(await (await web.get('/pgp-key.asc')).text())
    const file = join(gpg.home, 'security.txt')
    writeFileSync(file, text)
    const status = (await gpg.run(['--status-fd', '1', '--verify', file])).toString()
    t.match(status, new RegExp(`\\[GNUPG:\\] VALIDSIG ${team.fingerprint} `), 'gpg --verify accepts the signature')
    t.match(status, /\[GNUPG:\] GOODSIG /)

    const now = new Date()
    const parsed = parseSecurityTxt(text, now)
    t.same(parsed.errors, [], 'no RFC 9116 rule broken')
    t.ok(parsed.signed)
    const values = (name: string) => parsed.fields.filter((f) => f.name === name).map((f) => f.value)
    t.same(values('Contact'), ['mailto:security@example.org'])
    t.same(values('Encryption'), ['https://security.example.org/pgp-key.asc', `openpgp4fpr:${team.fingerprint.toLowerCase()}`])
    t.same(values('Canonical'), ['https://security.example.org/.well-known/security.txt', 'https://security.example.org/security.txt'])
    t.same(values('Policy'), ['https://github.com/example/.github/blob/main/SECURITY.md'])
    t.same(values('Preferred-Languages'), ['en'])
    t.equal(values('Expires').length, 1)
    const expires = parsed.expires as Date
    t.ok(expires.getTime() - now.getTime() <= 90 * 86_400_000, 'Expires: SECURITY_TXT_EXPIRES_DAYS (90) ahead at most')
    t.ok(expires.getTime() - now.getTime() > 89 * 86_400_000)
    t.notMatch(text, /BEGIN PGP PUBLIC KEY/, 'a link to the key, never the key itself')
  })

  t.test('the human page: fingerprint, gpg one-liner, links', async (t) => {
    for (const path of ['/', '/security']) {
      const res = await web.get(path)
      t.equal(res.status, 200)
      t.equal(res.headers.get('content-type'), 'text/html; charset=utf-8')
      t.ok(res.headers.get('etag'))
      const html = await res.text()
      const grouped = team.fingerprint.match(/.{4}/g) as string[]
      t.ok(html.includes(`${grouped.slice(0, 5).join(' ')}  ${grouped.slice(5).join(' ')}`), 'grouped fingerprint')
      t.match(html, /gpg --armor --encrypt --recipient [0-9A-F]{40}/)
      t.match(html, /href="https:\/\/security\.example\.org\/pgp-key\.asc"/)
      t.match(html, /href="https:\/\/security\.example\.org\/\.well-known\/security\.txt"/)
      t.notMatch(html, /DEVELOPMENT KEY/)
    }
  })
})

t.test('Expires never later than the key expiry; a key about to expire is warned about', async (t) => {
  const team = await makeTeamKey({ expiresInDays: 10 })
  const web = await startKeyWeb(t, { 'team.asc': team.armoredPublic })
  await web.publish(team.keyring, { expiresDays: 365 })
  const text = await (await web.get('/.well-known/security.txt')).text()
  const parsed = parseSecurityTxt(text)
  t.same(parsed.errors, [])
  const keyExpiry = team.keyring.published.getCreationTime().getTime() + 10 * 86_400_000
  t.ok((parsed.expires as Date).getTime() <= keyExpiry, 'Expires <= key expiry')
  t.ok((parsed.expires as Date).getTime() > keyExpiry - 5000, 'and capped by it, not by 365 days')
  t.ok(web.logs.some((l) => /expires on .* \(within 30 days\)/.test(l)), 'warned on start')
})

t.test('no key in KEYS_DIR: key routes answer 503/404, nothing invented', async (t) => {
  const web = await startKeyWeb(t, {})
  t.equal((await web.get('/pgp-key.asc')).status, 503)
  t.equal((await web.get('/')).status, 503)
  t.equal((await web.get('/.well-known/openpgpkey/hu/t5s8ztdbon8yzntexy6oz5y48etqsnbb')).status, 404)
  t.equal((await web.get('/pks/lookup?op=get&search=security@example.org')).status, 404)
  t.equal((await web.get('/.well-known/security.txt')).status, 503)
})
