// The sender must not be able to choose whether an RSA session key is unwrapped by
// rsa-session-key.ts (OpenSSL raw op + branch-free decode, ~6 ms for RSA-4096) or by
// openpgp.js's JS BigInt path (~165 ms, with unpadding loops whose length follows the
// first zero byte of the decrypted block). A review found three ways that worked: a
// wildcard PKESK of another algorithm (GnuPG --hidden-recipient with a Curve25519
// co-recipient), an MPI written with a leading zero byte, and a bogus wildcard PKESK whose
// algorithm byte says RSA-encrypt-only (2) while the team key is RSA (1).
import t from 'tap'
import * as openpgp from 'openpgp'
import { randomBytes } from 'node:crypto'
import { rsaSessionKeyCandidates } from '../../src/pgp/rsa-session-key.js'
import { decryptMessage } from '../../src/pgp/decrypt.js'
import { loadTeamKeyring } from '../../src/pgp/keyring.js'
import { pgpConfig } from '../../src/pgp/openpgp-config.js'
import { newFormatPacket, splitFirstPacket } from '../helpers/pgp-packets.js'

const { enums } = openpgp

t.test('an RSA PKESK is always unwrapped natively, whatever else the message carries', async (t) => {
  const team = await openpgp.generateKey({ type: 'rsa', rsaBits: 2048, userIDs: [{ email: 'rsa-team@example.org' }], format: 'armored' })
  const keyring = await loadTeamKeyring({ armored: [team.privateKey] })
  const pub = await openpgp.readKey({ armoredKey: team.publicKey })
  const coRecipient = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'reporter@example.net' }], format: 'object' })
  const sessionKey = { data: randomBytes(32), algorithm: 'aes256' as const }
  const encrypt = async (encryptionKeys: openpgp.PublicKey[], wildcard = false) => await openpgp.encrypt({
    message: await openpgp.createMessage({ text: 'report' }), encryptionKeys, sessionKey, wildcard, format: 'binary'
  }) as Uint8Array
  const plain = await encrypt([pub])
  const { packet: pkeskPacket, body, rest } = splitFirstPacket(Buffer.from(plain)) // body: version, key ID, algorithm, MPI c

  const variants: Record<string, Uint8Array> = {
    'hidden recipients: the team key and a Curve25519 co-recipient (gpg --hidden-recipient)': await encrypt([pub, coRecipient.publicKey], true),
    'the PKESK MPI declared one byte longer (a leading zero byte)': Buffer.concat([
      newFormatPacket(1, Buffer.concat([body.subarray(0, 10), mpiWithLeadingZero(body.subarray(10))])), rest
    ]),
    'an extra wildcard PKESK whose algorithm byte is 2 (RSA encrypt-only)': Buffer.concat([
      newFormatPacket(1, Buffer.concat([Buffer.from([3]), Buffer.alloc(8), Buffer.from([enums.publicKey.rsaEncrypt]), body.subarray(10)])), pkeskPacket, rest
    ])
  }
  for (const [name, input] of Object.entries(variants)) {
    t.test(name, async (t) => {
      const candidates = await rsaSessionKeyCandidates(await openpgp.readMessage({ binaryMessage: input }), keyring.secretKeys[0]!, pgpConfig())
      t.not(candidates, undefined, 'native candidates, not a fallback to openpgp.decryptSessionKeys')
      t.ok(candidates?.some((c) => c.algorithm === 'aes256' && Buffer.from(c.data).equals(sessionKey.data)), 'the real session key is among them')
      t.equal(Buffer.from((await decryptMessage(input, keyring)).data).toString(), 'report', 'and the message decrypts')
    })
  }
})



/** The same MPI with one zero byte in front and its bit count raised by 8 (openpgp.js reads it as is). */
function mpiWithLeadingZero (mpi: Buffer): Buffer {
  const bits = ((mpi[0]! << 8) | mpi[1]!)
  const bytes = (bits + 7) >> 3
  const declared = bytes * 8 + 8
  return Buffer.concat([Buffer.from([declared >> 8, declared & 0xff, 0]), mpi.subarray(2)])
}
