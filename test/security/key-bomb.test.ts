// Key bomb: the signer's key offered (Autocrypt, attached) with thousands of user IDs or
// copies of its self-signature, within the size caps (10 KiB, 64 KiB). Each packet is an
// object openpgp.js builds and each self-signature one it may verify. The packets are
// counted on their framing before openpgp.js reads the key; such a key is not used, and
// the message it signed is 'no-key'.
import t from 'tap'
import * as openpgp from 'openpgp'
import { openReport } from '../../src/mail/open-report.js'
import { attachedKeys } from '../../src/pgp/reporter-keys.js'
import { attachmentPart, multipart, pgpMimeSigned } from '../helpers/gpg.js'
import { message, reporterSigner, repeatedDetached, textPart, type Signer } from '../helpers/signature-bombs.js'
import { teamKey } from '../helpers/team-key.js'

t.test('key bombs', async (t) => {
  const team = await teamKey()
  const signer = await reporterSigner()
  const part = textPart('Affected: v1.2 to v1.4')
  const signed = pgpMimeSigned(part, await repeatedDetached(Buffer.from(part), signer, 1))
  const sound = Buffer.from(signer.publicKey.write())

  const cases = [
    { name: '3,000 empty user IDs in Autocrypt (under 10 KiB)', key: bloated(signer, { userIds: 3000 }), via: 'autocrypt' },
    { name: '20,000 empty user IDs attached (under 64 KiB)', key: bloated(signer, { userIds: 20_000 }), via: 'attached' },
    { name: '300 copies of the self-signature attached', key: bloated(signer, { selfSignatures: 300 }), via: 'attached' }
  ] as const
  for (const { name, key, via } of cases) {
    t.test(name, async (t) => {
      t.ok(key.length <= (via === 'autocrypt' ? 10 : 64) * 1024, `the key is ${key.length} bytes`)
      const started = performance.now()
      const report = await openReport(withKey(signed, key, via), { keyring: team.keyring })
      t.comment(`opened in ${Math.round(performance.now() - started)} ms`)
      t.match(report.signature, { state: 'no-key' })
      t.equal(report.reporterKey, undefined, 'the key is not kept')
    })
  }

  t.test('the same key without the bloat is used', async (t) => {
    for (const via of ['autocrypt', 'attached'] as const) {
      t.match((await openReport(withKey(signed, sound, via), { keyring: team.keyring })).signature, { state: 'verified', keySource: via })
    }
  })

  t.test('an armored key block over the packet bound is not read', async (t) => {
    const armored = openpgp.armor(openpgp.enums.armor.publicKey, bloated(signer, { userIds: 5000 }))
    t.same(await attachedKeys([{ filename: 'key.asc', contentType: 'application/pgp-keys', content: Buffer.from(armored) }], 'reporter@example.net'), [])
  })
})

/** The signer's key with `userIds` extra one-letter user IDs or `selfSignatures` copies of its certification. */
function bloated (signer: Signer, { userIds = 0, selfSignatures = 0 }: { userIds?: number, selfSignatures?: number }): Buffer {
  const packets = signer.publicKey.toPacketList()
  const written = packets.map((packet) => {
    const list = new openpgp.PacketList<openpgp.AnyPacket>()
    list.push(packet)
    return Buffer.from(list.write() as Uint8Array)
  })
  const certification = written[2] as Buffer // primary key, user ID, its self-certification, subkey, binding
  const extra = [
    ...Array.from({ length: selfSignatures }, () => certification),
    ...Array.from({ length: userIds }, () => Buffer.from([0xcd, 0x01, 0x61]))
  ]
  return Buffer.concat([...written.slice(0, 3), ...extra, ...written.slice(3)])
}

function withKey (signedEntity: string, key: Buffer, via: 'autocrypt' | 'attached'): Buffer {
  if (via === 'autocrypt') return message({ headers: { Autocrypt: `addr=reporter@example.net; keydata=${key.toString('base64')}` } }, signedEntity)
  return message({}, multipart('mixed', [signedEntity, attachmentPart({ filename: 'key.asc', contentType: 'application/pgp-keys', content: openpgp.armor(openpgp.enums.armor.publicKey, key) })]))
}
