// `intake keys generate|show|export`, checked with GnuPG, and the publication rule:
// newest valid key is primary, older valid keys retire beside it, expired and revoked
// keys are refused.
import t from 'tap'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as openpgp from 'openpgp'
import { keysCommand } from '../../src/cli/keys.js'
import { run } from '../../src/cli/main.js'
import { loadPublication } from '../../src/keys/published.js'
import { testConfig } from '../helpers/config.js'
import { createGpg } from '../helpers/gpg.js'
import { makeTeamKey } from '../helpers/team-key.js'

function workspace (t: { teardown: (fn: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'intake-keys-cli-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const keysDir = join(dir, 'keys')
  mkdirSync(keysDir)
  return { dir, keysDir }
}

async function cli (env: Record<string, string>, args: string[]) {
  let stdout = ''
  let stderr = ''
  const code = await keysCommand(testConfig({ SECURITY_EMAIL: 'security@example.org', ...env }), args, (s) => { stdout += s }, (s) => { stderr += s })
  return { code, stdout, stderr }
}

async function gpgListing (armored: string): Promise<string> {
  const gpg = await createGpg()
  try {
    await gpg.importKey(armored)
    return (await gpg.run(['--with-colons', '--fixed-list-mode', '--list-keys'])).toString()
  } finally {
    await gpg.close()
  }
}

t.test('generate: Curve25519 by default, public into KEYS_DIR, secret to a 0600 file', async (t) => {
  const { dir, keysDir } = workspace(t)
  const secretFile = join(dir, 'team.secret.asc')
  const res = await cli({ KEYS_DIR: keysDir }, ['generate', '--secret-out', secretFile, '--expires', '2y'])
  t.equal(res.code, 0, res.stderr)
  t.equal(statSync(secretFile).mode & 0o777, 0o600)
  t.match(readFileSync(secretFile, 'utf8'), /BEGIN PGP PRIVATE KEY BLOCK/)
  const [file] = readdirSync(keysDir)
  t.match(file, /^[0-9A-F]{40}\.asc$/)
  const listing = await gpgListing(readFileSync(join(keysDir, file as string), 'utf8'))
  const pub = /^pub:[^:]*:(\d+):(\d+):[0-9A-F]{16}:(\d+):(\d*):/m.exec(listing)
  t.equal(pub?.[1], '255', 'EdDSA primary key (v4, GnuPG-compatible)')
  t.match(listing, /^sub:[^:]*:\d+:18:/m, 'ECDH (Curve25519) encryption subkey')
  t.match(listing, /^uid:[^\n]*Security Team <security@example.org>/m, 'user ID from SECURITY_EMAIL')
  const lifetime = Number(pub?.[4]) - Number(pub?.[3])
  t.ok(Math.abs(lifetime - 730 * 86400) < 2 * 86400, 'expires in two years')
  const again = await cli({ KEYS_DIR: keysDir }, ['generate', '--secret-out', secretFile])
  t.equal(again.code, 2)
  t.match(again.stderr, /never overwritten/)
  t.equal(readdirSync(keysDir).length, 1, 'and no second public key')
})

t.test('generate: destination required, never inside KEYS_DIR; RSA-4096 to stdout', async (t) => {
  const { keysDir } = workspace(t)
  const none = await cli({ KEYS_DIR: keysDir }, ['generate'])
  t.equal(none.code, 2)
  t.match(none.stderr, /--secret-out FILE or --stdout/)
  const inside = await cli({ KEYS_DIR: keysDir }, ['generate', '--secret-out', join(keysDir, 'x.asc')])
  t.equal(inside.code, 2)
  t.match(inside.stderr, /outside KEYS_DIR/)
  // A name that merely starts with '..' is still inside KEYS_DIR (and hidden from the publisher).
  const dotted = await cli({ KEYS_DIR: keysDir }, ['generate', '--secret-out', join(keysDir, '..team.secret.asc')])
  t.equal(dotted.code, 2)
  t.match(dotted.stderr, /outside KEYS_DIR/)
  t.same(readdirSync(keysDir), [])
  const rsa = await cli({ KEYS_DIR: keysDir, PGP_PASSPHRASE: 'correct horse' }, ['generate', '--rsa', '--stdout', '--expires', '400d'])
  t.equal(rsa.code, 0)
  t.match(rsa.stdout, /^-----BEGIN PGP PRIVATE KEY BLOCK-----/, 'only the secret key on stdout')
  t.match(rsa.stderr, /protected by PGP_PASSPHRASE/)
  const secret = await openpgp.readPrivateKey({ armoredKey: rsa.stdout })
  t.equal(secret.isDecrypted(), false, 'passphrase-protected')
  t.same(secret.getAlgorithmInfo(), { algorithm: 'rsaEncryptSign', bits: 4096 })
  t.equal(secret.keyPacket.version, 4)
})

async function pastKey (opts: { daysAgo: number, lifetimeDays: number }): Promise<string> {
  const { publicKey } = await openpgp.generateKey({
    type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'security@example.org' }], format: 'armored',
    date: new Date(Date.now() - opts.daysAgo * 86_400_000), keyExpirationTime: opts.lifetimeDays * 86400
  })
  return publicKey
}

t.test('publication: newest valid is primary, older retiring, expired and revoked refused; show and export', async (t) => {
  const { dir, keysDir } = workspace(t)
  const old = await makeTeamKey({ expiresInDays: 20 })
  await new Promise((resolve) => setTimeout(resolve, 1100)) // creation times are whole seconds
  const current = await makeTeamKey({ expiresInDays: 365 })
  const expired = await pastKey({ daysAgo: 10, lifetimeDays: 1 })
  const revokedPair = await makeTeamKey({})
  const { publicKey: revoked } = await openpgp.revokeKey({ key: await openpgp.readPrivateKey({ armoredKey: revokedPair.armoredSecret }), format: 'armored' })
  writeFileSync(join(keysDir, 'old.asc'), old.armoredPublic)
  writeFileSync(join(keysDir, 'current.asc'), current.armoredPublic)
  writeFileSync(join(keysDir, 'expired.asc'), expired)
  writeFileSync(join(keysDir, 'revoked.asc'), revoked)
  writeFileSync(join(keysDir, 'oops.asc'), current.armoredSecret)

  const pub = await loadPublication(keysDir, { production: true })
  t.same(pub.keys.map((k) => [k.fingerprint, k.role]), [[current.fingerprint, 'primary'], [old.fingerprint, 'retiring']])
  t.same(pub.refused.map((r) => r.file).sort(), ['expired.asc', 'oops.asc', 'revoked.asc'])
  t.match(pub.refused.find((r) => r.file === 'expired.asc')?.reason, /^expired/)
  t.equal(pub.refused.find((r) => r.file === 'revoked.asc')?.reason, 'revoked')
  t.match(pub.refused.find((r) => r.file === 'oops.asc')?.reason, /secret key material/)

  const secretFile = join(dir, 'both.secret.asc')
  writeFileSync(secretFile, current.armoredSecret + old.armoredSecret)
  const shown = await cli({ KEYS_DIR: keysDir, PGP_PRIVATE_KEY_FILE: secretFile }, ['show'])
  t.equal(shown.code, 0)
  const spaced = (f: string) => { const g = f.match(/.{4}/g) as string[]; return `${g.slice(0, 5).join(' ')}  ${g.slice(5).join(' ')}` }
  t.match(shown.stdout, `PRIMARY   ${spaced(current.fingerprint)}`)
  t.match(shown.stdout, `retiring  ${spaced(old.fingerprint)}`)
  t.match(shown.stdout, /REFUSED .*expired\.asc\): expired on/)
  t.match(shown.stdout, /REFUSED .*revoked\.asc\): revoked/)
  t.match(shown.stdout, /secret key configured: yes/)
  t.match(shown.stdout, /EdDSA|eddsa/i)
  t.match(shown.stdout, /warning: retiring key [0-9A-F]{40} expires on .* \(within 30 days\)/)

  const exported = await cli({ KEYS_DIR: keysDir }, ['export'])
  t.equal(exported.code, 0)
  const listing = await gpgListing(exported.stdout)
  t.same([...listing.matchAll(/^fpr:+([0-9A-F]{40}):/gm)].map((m) => m[1]).filter((f) => f === current.fingerprint || f === old.fingerprint).sort(), [current.fingerprint, old.fingerprint].sort())
  t.notMatch(listing, new RegExp(revokedPair.fingerprint), 'the revoked key is not exported')
})

t.test('export --from-secret writes the public halves of the configured secret keys', async (t) => {
  const { dir, keysDir } = workspace(t)
  const key = await makeTeamKey({ expiresInDays: 100 })
  const secretFile = join(dir, 'k.secret.asc')
  writeFileSync(secretFile, key.armoredSecret)
  const res = await cli({ KEYS_DIR: keysDir, PGP_PRIVATE_KEY_FILE: secretFile }, ['export', '--from-secret'])
  t.equal(res.code, 0)
  t.same(readdirSync(keysDir), [`${key.fingerprint}.asc`])
  t.notMatch(readFileSync(join(keysDir, `${key.fingerprint}.asc`), 'utf8'), /PRIVATE/)
  const pub = await loadPublication(keysDir, { production: true })
  t.equal(pub.primary?.fingerprint, key.fingerprint)
})

t.test('registered in the intake CLI', async (t) => {
  let out = ''
  t.equal(await run(['help'], (s) => { out += s }), 0)
  t.match(out, /keys generate\|show\|export/)
})
