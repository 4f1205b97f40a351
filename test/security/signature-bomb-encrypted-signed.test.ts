// Signature bomb inside the encryption: a signed-then-encrypted inline message whose
// decrypted packets carry one valid signature 500 times over 5 MB (28 KB of ciphertext,
// it compresses). The inner signatures are checked as detached signatures over the
// literal data, so the same counting and de-duplication must apply: before it, 16 s and
// 2.5 GB. Held to 512 MiB, opening must end with the signature counted once: verified.
import t from 'tap'
import { inlineBody } from '../helpers/gpg.js'
import { memoryLimitUnavailable } from '../helpers/memory-cgroup.js'
import { autocryptHeader, encryptedSignedBomb, message, assertOpensUnderLimit, reporterSigner } from '../helpers/signature-bombs.js'
import { teamKey } from '../helpers/team-key.js'

t.test('signed-then-encrypted with 500 copies of its signature: verified under 512 MiB', { skip: await memoryLimitUnavailable() }, async (t) => {
  const team = await teamKey()
  const signer = await reporterSigner()
  const armored = await encryptedSignedBomb(signer, team.keyring.published, 5_000_000, 500)
  const raw = message({ headers: { Autocrypt: autocryptHeader(signer.publicKey) } }, inlineBody(armored, '8bit'))
  t.ok(raw.length < 64 * 1024, `the e-mail is ${raw.length} bytes`)
  await assertOpensUnderLimit(t, team.armoredSecret, raw, { state: 'verified', keySource: 'autocrypt' })
})
