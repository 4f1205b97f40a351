// The OpenPGP side of the fuzz suites: base messages of every kind, and the wrappers
// (PGP/MIME, inline armor, attachments) mutated bytes are sent in.
import * as openpgp from 'openpgp'
import { limits } from '../../src/domain/limits.js'
import type { PgpBase } from './fuzz.js'
import { attachmentPart, createGpg, gnupgStyleOcbMessage, inlineBody, message, multipart, pgpMimeEncrypted, textPart } from './gpg.js'
import { makeTeamKey, teamKey } from './team-key.js'

/** Real messages of every kind, made once per file; `t` owns the GnuPG home. */
export async function pgpBases (t: { teardown: (fn: () => Promise<void>) => void }): Promise<PgpBase[]> {
  const team = await teamKey()
  const to = [team.keyring.published]
  const stranger = await makeTeamKey({ email: 'stranger@example.org' })
  const reporter = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'reporter@example.net' }], format: 'object' })
  const entity = (text: string) => textPart(`${text}\n`)
  const bin = async (opts: Omit<openpgp.EncryptOptions, 'format'>) => await openpgp.encrypt({ ...opts, format: 'binary' } as never) as unknown as Uint8Array
  const message_ = async (text: string) => await openpgp.createMessage({ text: entity(text) })
  const gpg = await createGpg()
  t.teardown(gpg.close)
  await gpg.importKey(team.armoredPublic)
  const sed = await gpg.encrypt(entity('no MDC'), { to: [team.fingerprint], armor: false, extra: ['--rfc2440'] })
  // Literal packets made by hand (new format, tag 11): one whose length field claims
  // 4 GiB, and a chain of partial lengths that never ends.
  const claims4GiB = Buffer.concat([Buffer.from([0xcb, 0xff, 0xff, 0xff, 0xff, 0xff, 0x62, 0, 0, 0, 0, 0]), Buffer.from('tiny')])
  const partialChain = Buffer.concat([Buffer.from([0xcb, 0xea]), Buffer.alloc(1024, 0x41), Buffer.from([0xea]), Buffer.alloc(1024, 0x42)])
  const zeros = new Uint8Array(limits.decryptedBytes + 1024 * 1024)
  return [
    { name: 'armored-ish binary', binary: await bin({ message: await message_('plain encrypted'), encryptionKeys: to }), expect: 'processed', weight: 10 },
    { name: 'signed and encrypted', binary: await bin({ message: await message_('signed'), encryptionKeys: to, signingKeys: reporter.privateKey }), expect: 'processed', weight: 10 },
    { name: 'compressed', binary: await bin({ message: await message_('compressed '.repeat(50)), encryptionKeys: to, config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib } }), expect: 'processed', weight: 10 },
    { name: 'AEAD (GnuPG 2.4 style OCB)', binary: await gnupgStyleOcbMessage(Buffer.from(entity('aead')), team.keyring.published), expect: 'processed', weight: 10 },
    { name: 'to a wrong key', binary: await bin({ message: await message_('wrong key'), encryptionKeys: [stranger.keyring.published] }), expect: 'undecryptable', weight: 8 },
    { name: 'no integrity protection (gpg --rfc2440)', binary: sed, expect: 'unauthenticated', weight: 8 },
    { name: 'passphrase only', binary: await bin({ message: await message_('password'), passwords: ['hunter2'] }), expect: 'undecryptable', weight: 5 },
    { name: 'literal claiming 4 GiB', binary: claims4GiB, expect: 'any', weight: 5 },
    { name: 'partial-length chain', binary: partialChain, expect: 'any', weight: 5 },
    { name: 'large literal (4 MiB)', binary: await bin({ message: await openpgp.createMessage({ binary: Buffer.from(entity(`${'a'.repeat(75)}\n`.repeat(55_000))) }), encryptionKeys: to, config: { preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed } }), expect: 'processed', weight: 1 },
    { name: 'compression bomb', binary: await bin({ message: await openpgp.createMessage({ binary: zeros }), encryptionKeys: to, config: { preferredCompressionAlgorithm: openpgp.enums.compression.zlib } }), expect: 'too-large', weight: 1 }
  ]
}

/** The (mutated) OpenPGP bytes as a mail client would send them. */
export function wrapPgp (bytes: Buffer, wrapper: string, damageArmor: boolean, from = 'Reporter <reporter@example.net>'): Buffer {
  let armored = openpgp.armor(openpgp.enums.armor.message, bytes)
  if (damageArmor) armored = armored.replace(/\n=[A-Za-z0-9+/]{4}\n/, '\n=AAAA\n').replace('-----END PGP MESSAGE-----', '-----END PGP MESSAG-----')
  const env = { from, subject: 'Report' }
  switch (wrapper) {
    case 'pgp-mime-binary': return message(env, multipart('encrypted', [
      'Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n',
      attachmentPart({ filename: 'encrypted.asc', content: bytes })
    ], 'protocol="application/pgp-encrypted"'))
    case 'exchange': return message(env, multipart('mixed', [
      'Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n',
      attachmentPart({ filename: 'encrypted.asc', content: Buffer.from(armored) })
    ]))
    case 'inline-8bit': return message(env, inlineBody(armored, '8bit'))
    case 'inline-qp': return message(env, inlineBody(armored, 'quoted-printable'))
    case 'inline-base64': return message(env, inlineBody(armored, 'base64'))
    case 'attachment-asc': return message(env, multipart('mixed', [textPart('see attached'), attachmentPart({ filename: 'report.txt.asc', content: Buffer.from(armored) })]))
    case 'attachment-gpg': return message(env, multipart('mixed', [textPart('see attached'), attachmentPart({ filename: 'report.txt.gpg', content: bytes })]))
    default: return message(env, pgpMimeEncrypted(armored))
  }
}

