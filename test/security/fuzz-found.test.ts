// Inputs the fast-check suites (test/fuzz, `npm run test:fuzz`) found to break an invariant, kept as
// fixed regression tests. Each names what was wrong and what the fix was.
import t from 'tap'
import * as openpgp from 'openpgp'
import { openReport } from '../../src/mail/open-report.js'
import { inlineBody, message } from '../helpers/gpg.js'
import { teamKey } from '../helpers/team-key.js'

// Found by test/fuzz/pgp.fuzz.ts: a `gpg --rfc2440` message whose first byte had 4 bits flipped
// (0x84 -> 0x8b) became one Signature packet of indeterminate length under a PGP MESSAGE
// armor: a "signed message" with no literal data at all. openpgp.js' verify() throws
// ("Can only verify message with one literal data packet") instead of reporting a bad
// signature; the exception escaped openReport as a foreign error, so the worker would
// have retried it for an hour before quarantining it as "failed". Fix: src/pgp/verify.ts
// treats any verify() exception as a malformed signed message (state bad, with reason).
t.test('a PGP MESSAGE holding only a signature packet: opened, signature bad (malformed)', async (t) => {
  const { keyring } = await teamKey()
  const key = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'r@example.net' }], format: 'object' })
  const signature = await openpgp.sign({ message: await openpgp.createMessage({ text: 'signed text\n' }), signingKeys: key.privateKey, detached: true, format: 'binary' }) as Uint8Array
  const armored = openpgp.armor(openpgp.enums.armor.message, signature)
  for (const encoding of ['8bit', 'base64', 'quoted-printable'] as const) {
    const report = await openReport(message({ subject: 'Report' }, inlineBody(armored, encoding)), { keyring })
    t.match(report.signature, { state: 'bad', reason: /malformed/ }, encoding)
    t.equal(report.encrypted, false)
  }
})
