// Signature bomb, inline: a cleartext-signed body (`-----BEGIN PGP SIGNED MESSAGE-----`)
// and a signed, not encrypted, `-----BEGIN PGP MESSAGE-----`, each carrying one valid
// signature 500 times over 5 MB of text. Before the signature packets were counted and
// de-duplicated, the cleartext one took 29 s and 2.5 GB. Held to 512 MiB, opening must
// end with the signature counted once: verified.
import t from 'tap'
import * as openpgp from 'openpgp'
import { openReport } from '../../src/mail/open-report.js'
import { limits } from '../../src/domain/limits.js'
import { inlineBody } from '../helpers/gpg.js'
import { memoryLimitUnavailable } from '../helpers/memory-cgroup.js'
import { autocryptHeader, bigText, cleartextBomb, message, assertOpensUnderLimit, reporterSigner, type Signer } from '../helpers/signature-bombs.js'
import { teamKey } from '../helpers/team-key.js'

const copies = 500
const signedBytes = 5_000_000

t.test('inline signature bomb', async (t) => {
  const team = await teamKey()
  const signer = await reporterSigner()
  const headers = { Autocrypt: autocryptHeader(signer.publicKey) }
  const noLimit = await memoryLimitUnavailable()

  t.test('cleartext-signed: verified under 512 MiB', { skip: noLimit }, async (t) => {
    const raw = message({ headers }, inlineBody(await cleartextBomb(signer, signedBytes, copies), '8bit'))
    await assertOpensUnderLimit(t, team.armoredSecret, raw, { state: 'verified', keySource: 'autocrypt' })
  })

  t.test('signed (not encrypted) message: verified under 512 MiB', { skip: noLimit }, async (t) => {
    const raw = message({ headers }, inlineBody(await signedMessageBomb(signer, signedBytes, copies), '8bit'))
    await assertOpensUnderLimit(t, team.armoredSecret, raw, { state: 'verified' })
  })

  t.test(`cleartext with more than ${limits.checkedSignatures} different signatures: bad, text still shown`, async (t) => {
    const text = 'Affected: v1.2 to v1.4\n'
    const packets: Uint8Array[] = []
    for (let i = 0; i <= limits.checkedSignatures; i++) {
      const signed = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: signer.privateKey, date: new Date(Date.now() - (i + 1) * 60_000) })
      packets.push((await openpgp.unarmor(signed.slice(signed.indexOf('-----BEGIN PGP SIGNATURE-----')))).data as Uint8Array)
    }
    const one = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: signer.privateKey })
    const block = one.slice(0, one.indexOf('-----BEGIN PGP SIGNATURE-----')) + openpgp.armor(openpgp.enums.armor.signature, Buffer.concat(packets))
    const report = await openReport(message({ headers }, inlineBody(block, '8bit')), { keyring: team.keyring })
    t.match(report.signature, { state: 'bad', reason: /different signatures/ })
    t.equal(report.text.trim(), text.trim())
  })
})

/** A signed message (one-pass signatures, literal data, signatures), the signature repeated. */
async function signedMessageBomb (signer: Signer, textBytes: number, copies: number): Promise<string> {
  const signed = await openpgp.sign({ message: await openpgp.createMessage({ text: bigText(textBytes) }), signingKeys: signer.privateKey, format: 'object' })
  const ops = signed.packets.filterByTag(openpgp.enums.packet.onePassSignature)[0] as openpgp.AnyPacket
  const literal = signed.packets.filterByTag(openpgp.enums.packet.literalData)[0] as openpgp.AnyPacket
  const signature = signed.packets.filterByTag(openpgp.enums.packet.signature)[0] as openpgp.AnyPacket
  const list = new openpgp.PacketList<openpgp.AnyPacket>()
  list.push(...Array.from({ length: copies }, () => ops), literal, ...Array.from({ length: copies }, () => signature))
  return openpgp.armor(openpgp.enums.armor.message, list.write() as Uint8Array)
}
