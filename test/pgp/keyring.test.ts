import t from 'tap'
import * as openpgp from 'openpgp'
import { findDecryptionKeys, generateTeamKey, KeyringError, loadTeamKeyring } from '../../src/pgp/keyring.js'
import { createGpg } from '../helpers/gpg.js'

t.test('generateTeamKey: v4 Curve25519 that GnuPG accepts', async (t) => {
  const key = await generateTeamKey({ email: 'security@example.org', name: 'Security Team', expiresInDays: 30 })
  t.match(key.fingerprint, /^[0-9A-F]{40}$/)
  const parsed = await openpgp.readKey({ armoredKey: key.armoredPublic })
  t.equal(parsed.keyPacket.version, 4)
  t.equal(parsed.getAlgorithmInfo().algorithm, 'eddsaLegacy')
  t.ok(await parsed.getExpirationTime() instanceof Date)
  const gpg = await createGpg()
  t.teardown(gpg.close)
  await gpg.importKey(key.armoredPublic)
  const listing = (await gpg.run(['--with-colons', '--list-keys', key.fingerprint])).toString()
  t.match(listing, /^uid:.*Security Team <security@example\.org>/m, 'GnuPG kept the user ID')
  t.match(listing, /^sub:.*:e:/m, 'and sees an encryption subkey')
  await gpg.encrypt('x', { to: [key.fingerprint] })
})

t.test('loadTeamKeyring', async (t) => {
  const locked = await generateTeamKey({ email: 'security@example.org', passphrase: 'correct horse' })
  const open = await generateTeamKey({ email: 'security@example.org' })

  t.test('unlocks with the passphrase', async (t) => {
    const keyring = await loadTeamKeyring({ armored: [locked.armoredSecret], passphrase: 'correct horse' })
    t.equal(keyring.fingerprint, locked.fingerprint)
    t.equal(keyring.development, false)
    t.ok(keyring.secretKeys[0]?.isDecrypted())
    t.notOk(keyring.published.isPrivate())
  })

  t.test('problems list fingerprints, never key material', async (t) => {
    const err = await loadTeamKeyring({ armored: [locked.armoredSecret, open.armoredPublic], passphrase: 'wrong' }).catch((e: unknown) => e)
    t.ok(err instanceof KeyringError)
    const message = (err as Error).message
    t.match(message, `${locked.fingerprint} (wrong passphrase)`)
    t.match(message, `${open.fingerprint} (public key only`)
    t.notMatch(message.replaceAll(locked.fingerprint, '').replaceAll(open.fingerprint, ''), /BEGIN PGP|[A-Za-z0-9+/]{24,}/, 'no armor or base64 in the message')
    await t.rejects(loadTeamKeyring({ armored: [locked.armoredSecret] }), { message: /none is configured/ })
    await t.rejects(loadTeamKeyring({ armored: ['garbage'] }), { message: /key block 1 is not an armored OpenPGP key/ })
    await t.rejects(loadTeamKeyring({ armored: [] }), { message: /no team key/ })
  })

  t.test('several keys; findDecryptionKeys by PKESK key id', async (t) => {
    const keyring = await loadTeamKeyring({ armored: [open.armoredSecret, open.armoredSecret, locked.armoredSecret], passphrase: 'correct horse', development: true })
    t.equal(keyring.secretKeys.length, 2, 'duplicates dropped')
    t.equal(keyring.development, true)
    const subkeyId = (await keyring.secretKeys[1]!.getEncryptionKey()).getKeyID()
    t.same(findDecryptionKeys(keyring, [subkeyId]).map((key) => key.getFingerprint()), [keyring.secretKeys[1]!.getFingerprint()])
    const KeyID = subkeyId.constructor as unknown as { fromID: (hex: string) => openpgp.KeyID } // the class is not exported as a value
    t.same(findDecryptionKeys(keyring, [KeyID.fromID('0123456789abcdef')]), [])
    t.equal(findDecryptionKeys(keyring, [KeyID.fromID('0000000000000000')]).length, 2, 'wildcard: all keys')
  })
})

t.test('generateTeamKey rsa4096', async (t) => {
  const started = Date.now()
  const key = await generateTeamKey({ email: 'security@example.org', type: 'rsa4096' })
  const parsed = await openpgp.readKey({ armoredKey: key.armoredPublic })
  t.equal(parsed.getAlgorithmInfo().bits, 4096)
  t.comment(`rsa4096 generation took ${Date.now() - started} ms`)
})

t.test('keys exported by GnuPG: passphrase-protected, and secret subkeys only (offline primary)', async (t) => {
  const gpg = await createGpg()
  t.teardown(gpg.close)
  await gpg.run(['--passphrase', 'pw', '--quick-gen-key', 'Team <team@example.org>', 'ed25519', 'sign', '1y'])
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec((await gpg.run(['--with-colons', '--list-keys', 'team@example.org'])).toString())?.[1] ?? ''
  await gpg.run(['--passphrase', 'pw', '--quick-add-key', fingerprint, 'cv25519', 'encr', '1y'])
  const full = (await gpg.run(['--passphrase', 'pw', '--armor', '--export-secret-keys', fingerprint])).toString()
  t.equal((await loadTeamKeyring({ armored: [full], passphrase: 'pw' })).fingerprint, fingerprint)
  await t.rejects(loadTeamKeyring({ armored: [full], passphrase: 'nope' }), { message: `${fingerprint} (wrong passphrase)` })
  const subkeysOnly = (await gpg.run(['--passphrase', 'pw', '--armor', '--export-secret-subkeys', fingerprint])).toString()
  t.equal((await loadTeamKeyring({ armored: [subkeysOnly], passphrase: 'pw' })).fingerprint, fingerprint)
})
