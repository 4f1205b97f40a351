import t from 'tap'
import * as openpgp from 'openpgp'
import { rsaSessionKeyCandidates } from '../../src/pgp/rsa-session-key.js'
import { loadTeamKeyring } from '../../src/pgp/keyring.js'
import { pgpConfig } from '../../src/pgp/openpgp-config.js'
import { createGpg } from '../helpers/gpg.js'
import { teamKey } from '../helpers/team-key.js'

t.test('RSA session keys unwrapped natively', async (t) => {
  const gpg = await createGpg()
  t.teardown(() => gpg.close())
  const rsa = await gpg.generateKey({ name: 'RSA Team', email: 'rsa-team@example.org', algo: 'rsa3072', encryptionSubkey: 'rsa3072' })
  const keyring = await loadTeamKeyring({ armored: [await gpg.exportSecret(rsa.fingerprint)] })
  const key = keyring.secretKeys[0]!

  t.test('a GnuPG message: one candidate per AES size, one of them the key openpgp.js finds', async (t) => {
    const binaryMessage = await gpg.encrypt('report\n', { to: [rsa.fingerprint], armor: false })
    const candidates = await rsaSessionKeyCandidates(await openpgp.readMessage({ binaryMessage }), key, pgpConfig())
    // openpgp.js's own (BigInt, not constant-time) unwrapping as the reference
    const [reference] = await openpgp.decryptSessionKeys({ message: await openpgp.readMessage({ binaryMessage }), decryptionKeys: [key], config: { ...pgpConfig(), constantTimePKCS1Decryption: false } })
    t.same(candidates?.map((c) => c.algorithm), ['aes256', 'aes192', 'aes128'], 'the likeliest cipher first')
    const matching = candidates!.filter((c) => Buffer.from(c.data).equals(Buffer.from(reference!.data)))
    t.equal(matching.length, 1)
    t.equal(matching[0]!.algorithm, reference!.algorithm)
  })

  t.test('a message to a Curve25519 key is left to openpgp.js', async (t) => {
    const team = await teamKey()
    const message = await openpgp.createMessage({ text: 'report' })
    const binaryMessage = await openpgp.encrypt({ message, encryptionKeys: team.keyring.published, format: 'binary' })
    t.equal(await rsaSessionKeyCandidates(await openpgp.readMessage({ binaryMessage }), team.keyring.secretKeys[0]!, pgpConfig()), undefined)
  })

  t.test('a message to another RSA key: no candidates', async (t) => {
    const other = await openpgp.generateKey({ type: 'rsa', rsaBits: 2048, userIDs: [{ email: 'other@example.org' }], format: 'object' })
    const binaryMessage = await openpgp.encrypt({ message: await openpgp.createMessage({ text: 'x' }), encryptionKeys: other.publicKey, format: 'binary' })
    t.equal(await rsaSessionKeyCandidates(await openpgp.readMessage({ binaryMessage }), key, pgpConfig()), undefined)
  })
})
