// Signature bomb, detached (RFC 3156 multipart/signed): one valid signature repeated 500
// times over a 5 MB part, the signer's key in Autocrypt. openpgp.js hashes the signed
// part once per signature packet and keeps a copy each time: 14 s and 2.5 GB before the
// packets were counted and de-duplicated. Held to 512 MiB (the shipped worker's
// machine), opening it must end, with the one signature counted once: verified.
import t from 'tap'
import * as openpgp from 'openpgp'
import { openReport } from '../../src/mail/open-report.js'
import { limits } from '../../src/domain/limits.js'
import { memoryLimitUnavailable } from '../helpers/memory-cgroup.js'
import { autocryptHeader, bigText, detachedBomb, encryptedDetachedBomb, message, assertOpensUnderLimit, repeatedDetached, reporterSigner, textPart, withUnhashedExtra } from '../helpers/signature-bombs.js'
import { pgpMimeSigned } from '../helpers/gpg.js'
import { teamKey } from '../helpers/team-key.js'

const copies = 500
const signedBytes = 5_000_000

t.test('detached signature bomb', async (t) => {
  const team = await teamKey()
  const signer = await reporterSigner()
  const headers = { Autocrypt: autocryptHeader(signer.publicKey) }

  t.test('encrypted multipart/signed (the 27 KB e-mail): verified under 512 MiB', { skip: await memoryLimitUnavailable() }, async (t) => {
    const raw = await encryptedDetachedBomb(signer, team.keyring.published, signedBytes, copies)
    t.ok(raw.length < 64 * 1024, `the e-mail is ${raw.length} bytes`)
    await assertOpensUnderLimit(t, team.armoredSecret, raw, { state: 'verified', keySource: 'autocrypt' })
  })

  t.test('plain multipart/signed: verified under 512 MiB', { skip: await memoryLimitUnavailable() }, async (t) => {
    const raw = message({ headers }, await detachedBomb(signer, signedBytes, copies))
    await assertOpensUnderLimit(t, team.armoredSecret, raw, { state: 'verified' })
  })

  t.test('copies that differ only in the unsigned (unhashed) area count once', async (t) => {
    const part = textPart(bigText(100_000))
    const armored = await repeatedDetached(Buffer.from(part), signer, 1)
    const packet = (await openpgp.unarmor(armored)).data as Uint8Array
    const variants = Array.from({ length: 50 }, (_, i) => withUnhashedExtra(packet, unknownSubpacket(i)))
    t.equal(new Set(variants.map((v) => Buffer.from(v).toString('hex'))).size, 50, 'fifty byte-distinct packets')
    const block = openpgp.armor(openpgp.enums.armor.signature, Buffer.concat(variants))
    const report = await openReport(message({ headers }, pgpMimeSigned(part, block)), { keyring: team.keyring })
    t.match(report.signature, { state: 'verified' })
  })

  t.test(`more than ${limits.checkedSignatures} different signatures: bad, none checked`, async (t) => {
    const part = textPart('Affected: v1.2 to v1.4')
    const blocks: Uint8Array[] = []
    for (let i = 0; i <= limits.checkedSignatures; i++) {
      const date = new Date(Date.now() - (i + 1) * 60_000) // a different signature each time
      blocks.push(await openpgp.sign({ message: await openpgp.createMessage({ binary: Buffer.from(part) }), signingKeys: signer.privateKey, detached: true, format: 'binary', date }) as Uint8Array)
    }
    const block = openpgp.armor(openpgp.enums.armor.signature, Buffer.concat(blocks))
    const report = await openReport(message({ headers }, pgpMimeSigned(part, block)), { keyring: team.keyring })
    t.match(report.signature, { state: 'bad', reason: /5 different signatures; at most 4 are checked/ })
    const fewer = openpgp.armor(openpgp.enums.armor.signature, Buffer.concat(blocks.slice(0, limits.checkedSignatures)))
    t.match((await openReport(message({ headers }, pgpMimeSigned(part, fewer)), { keyring: team.keyring })).signature, { state: 'verified' }, `${limits.checkedSignatures} are checked`)
  })
})

/** A non-critical private-use subpacket (type 100) carrying `n`. */
function unknownSubpacket (n: number): Uint8Array {
  return Uint8Array.from([5, 100, 0, 0, n >> 8, n & 0xff])
}
