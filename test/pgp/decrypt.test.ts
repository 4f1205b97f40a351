import t from 'tap'
import * as openpgp from 'openpgp'
import { decryptMessage, isEncryptedMessage } from '../../src/pgp/decrypt.js'
import { loadTeamKeyring } from '../../src/pgp/keyring.js'
import { exec, reporterPeer, gnupgStyleOcbMessage, hasCommand, openpgpEncrypt } from '../helpers/gpg.js'
import { makeTeamKey, teamKey } from '../helpers/team-key.js'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const report = 'Heap overflow in the TLV parser: send a length of 0xffffffff.\n'

t.test('GnuPG peer', async (t) => {
  const team = await teamKey()
  const { gpg, reporter } = await reporterPeer(t, team.armoredPublic)

  t.test('armored and binary ciphertext decrypt', async (t) => {
    for (const armor of [true, false]) {
      const ciphertext = await gpg.encrypt(report, { to: [team.fingerprint], armor })
      t.ok(isEncryptedMessage(ciphertext))
      const result = await decryptMessage(armor ? ciphertext.toString() : ciphertext, team.keyring)
      t.equal(Buffer.from(result.data).toString(), report)
      t.equal(result.decryptedWith, team.fingerprint)
      t.same(result.signatureKeyIds, [])
      t.same(await result.verify([]), { state: 'unsigned' })
    }
  })

  t.test('signed then encrypted: key ids now, verification once the key is known', async (t) => {
    const ciphertext = await gpg.encrypt(report, { to: [team.fingerprint], signer: reporter.fingerprint })
    const result = await decryptMessage(ciphertext, team.keyring)
    t.equal(Buffer.from(result.data).toString(), report)
    t.equal(result.signatureKeyIds.length, 1)
    t.equal(result.signatureKeyIds[0], reporter.fingerprint.slice(-16))
    t.same(await result.verify([]), { state: 'no-key', keyIds: [reporter.fingerprint.slice(-16)] })
    const key = await openpgp.readKey({ armoredKey: reporter.armoredPublic })
    t.same(await result.verify([{ key, source: 'autocrypt' }]), { state: 'verified', fingerprint: reporter.fingerprint, keySource: 'autocrypt' })
  })

  t.test('hidden recipient (wildcard key id) still decrypts', async (t) => {
    const ciphertext = await gpg.encrypt(report, { to: [], extra: ['--hidden-recipient', team.fingerprint] })
    const result = await decryptMessage(ciphertext, team.keyring)
    t.equal(Buffer.from(result.data).toString(), report)
  })

  t.test('an RSA team key (constant-time PKCS#1 path) made by GnuPG', async (t) => {
    const rsa = await gpg.generateKey({ name: 'RSA Team', email: 'rsa-team@example.org', algo: 'rsa2048', encryptionSubkey: 'rsa2048' })
    const keyring = await loadTeamKeyring({ armored: [await gpg.exportSecret(rsa.fingerprint)] })
    const ciphertext = await gpg.encrypt(report, { to: [rsa.fingerprint] })
    const result = await decryptMessage(ciphertext, keyring)
    t.equal(Buffer.from(result.data).toString(), report)
    t.equal(result.decryptedWith, rsa.fingerprint)
  })

  t.test('rotation: a message to the older of two team keys', async (t) => {
    const older = await makeTeamKey()
    await new Promise((resolve) => setTimeout(resolve, 1100)) // creation times are in seconds
    const newer = await makeTeamKey()
    const keyring = await loadTeamKeyring({ armored: [older.armoredSecret + '\n' + newer.armoredSecret] }) // one file, two armor blocks
    t.equal(keyring.fingerprint, newer.fingerprint, 'the newest key is published')
    await gpg.importKey(older.armoredPublic)
    const result = await decryptMessage(await gpg.encrypt(report, { to: [older.fingerprint] }), keyring)
    t.equal(result.decryptedWith, older.fingerprint)
    t.equal(Buffer.from(result.data).toString(), report)
  })
})

t.test('AEAD', async (t) => {
  const team = await teamKey()

  t.test('OCB packet 20 as GnuPG 2.4 emits it (built from openpgp.js packet classes)', async (t) => {
    const binary = await gnupgStyleOcbMessage(Buffer.from(report), team.keyring.published)
    const parsed = await openpgp.readMessage({ binaryMessage: binary })
    t.ok(parsed.packets.some((packet) => (packet.constructor as { tag?: number }).tag === openpgp.enums.packet.aeadEncryptedData), 'an AEAD Encrypted Data packet (tag 20)')
    const result = await decryptMessage(binary, team.keyring)
    t.equal(Buffer.from(result.data).toString(), report)
  })

  t.test('RFC 9580 SEIPDv2 (openpgp.js aeadProtect)', async (t) => {
    const armored = await openpgpEncrypt(report, { to: [team.keyring.published], config: { aeadProtect: true, preferredAEADAlgorithm: openpgp.enums.aead.ocb } })
    const result = await decryptMessage(armored, team.keyring)
    t.equal(Buffer.from(result.data).toString(), report.replace(/\n/g, '\r\n'), 'text literal data comes back canonical (CRLF)')
  })

  t.test('rnp --aead=ocb (a real LibrePGP peer; skipped when rnp is not installed)', { skip: !(await hasCommand('rnp')) && 'rnp not installed' }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'rnp-'))
    t.teardown(async () => await rm(dir, { recursive: true, force: true }))
    await writeFile(join(dir, 'team.asc'), team.armoredPublic)
    await writeFile(join(dir, 'report.txt'), report)
    await exec('rnpkeys', ['--homedir', dir, '--import', join(dir, 'team.asc')])
    await exec('rnp', ['--homedir', dir, '--encrypt', '--aead=ocb', '--recipient', team.fingerprint, '--armor', join(dir, 'report.txt'), '--output', join(dir, 'report.asc')])
    const armored = (await import('node:fs/promises')).readFile(join(dir, 'report.asc'), 'utf8')
    const message = await openpgp.readMessage({ armoredMessage: await armored })
    t.ok(message.packets.some((packet) => (packet.constructor as { tag?: number }).tag === openpgp.enums.packet.aeadEncryptedData), 'rnp sent packet 20')
    const result = await decryptMessage(await armored, team.keyring)
    t.equal(Buffer.from(result.data).toString(), report)
  })
})

t.test('not OpenPGP, or not encrypted', async (t) => {
  const team = await teamKey()
  await t.rejects(decryptMessage('hello world', team.keyring), { code: 'unparsable' })
  await t.rejects(decryptMessage(new Uint8Array([1, 2, 3, 4]), team.keyring), { code: 'unparsable' })
  const signedOnly = await openpgp.sign({ message: await openpgp.createMessage({ text: report }), signingKeys: team.keyring.secretKeys })
  t.notOk(isEncryptedMessage(signedOnly))
  await t.rejects(decryptMessage(signedOnly, team.keyring), { code: 'unparsable' })
  const withPassword = await openpgp.encrypt({ message: await openpgp.createMessage({ text: report }), passwords: ['secret'] })
  await t.rejects(decryptMessage(withPassword, team.keyring), { code: 'undecryptable', message: /passphrase/ })
})
