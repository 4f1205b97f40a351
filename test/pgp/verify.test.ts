import t from 'tap'
import * as openpgp from 'openpgp'
import { verifyDetached, verifyInlineSigned } from '../../src/pgp/verify.js'
import { createGpg } from '../helpers/gpg.js'

const part = 'Content-Type: text/plain; charset=utf-8\r\n\r\nThe admin API skips the CSRF check.\r\n'

t.test('signatures made by GnuPG', async (t) => {
  const gpg = await createGpg()
  t.teardown(gpg.close)
  const reporter = await gpg.generateKey({ name: 'Reporter', email: 'reporter@example.net' })
  const key = await openpgp.readKey({ armoredKey: reporter.armoredPublic })
  const candidates = [{ key, source: 'attached' as const }]
  const keyId = reporter.fingerprint.slice(-16)

  t.test('detached (RFC 3156): verified, no-key, bad', async (t) => {
    const signature = await gpg.sign(part, { signer: reporter.fingerprint, mode: 'detach' })
    const data = Buffer.from(part)
    t.same(await verifyDetached({ data, signature, candidates }), { state: 'verified', fingerprint: reporter.fingerprint, keySource: 'attached' })
    t.same(await verifyDetached({ data, signature: signature.toString(), candidates: [key] }), { state: 'verified', fingerprint: reporter.fingerprint, keySource: 'known' }, 'a bare key counts as known')
    t.same(await verifyDetached({ data, signature, candidates: [] }), { state: 'no-key', keyIds: [keyId] })
    const modified = Buffer.from(part.replace('skips', 'keeps'))
    const bad = await verifyDetached({ data: modified, signature, candidates })
    t.match(bad, { state: 'bad', fingerprint: reporter.fingerprint, keyIds: [keyId], reason: /does not match/ })
    const binary = await gpg.sign(part, { signer: reporter.fingerprint, mode: 'detach', armor: false })
    t.match(await verifyDetached({ data, signature: binary, candidates }), { state: 'verified' })
    t.match(await verifyDetached({ data, signature: 'not a signature', candidates }), { state: 'bad', keyIds: [] })
  })

  t.test('SHA-1 signatures are rejected', async (t) => {
    const rsa = await gpg.generateKey({ name: 'Old', email: 'old@example.net', algo: 'rsa2048' })
    const signature = await gpg.sign(part, { signer: rsa.fingerprint, mode: 'detach', extra: ['--digest-algo', 'SHA1'] })
    const rsaKey = await openpgp.readKey({ armoredKey: rsa.armoredPublic })
    t.match(await verifyDetached({ data: Buffer.from(part), signature, candidates: [rsaKey] }), { state: 'bad', reason: /insecure hash/ })
  })

  t.test('cleartext signed', async (t) => {
    const signed = (await gpg.sign('Line one\n- dashed line\n', { signer: reporter.fingerprint, mode: 'clear' })).toString()
    const result = await verifyInlineSigned(`\n  ${signed}`, candidates)
    t.equal(result.text, 'Line one\n- dashed line')
    t.same(result.state, { state: 'verified', fingerprint: reporter.fingerprint, keySource: 'attached' })
    const tampered = signed.replace('Line one', 'Line 1')
    t.match((await verifyInlineSigned(tampered, candidates)).state, { state: 'bad' })
    t.same((await verifyInlineSigned(signed, [])).state, { state: 'no-key', keyIds: [keyId] })
  })

  t.test('signed (not encrypted) armored message', async (t) => {
    const signed = (await gpg.sign('signed body\n', { signer: reporter.fingerprint, mode: 'inline' })).toString()
    const result = await verifyInlineSigned(signed, candidates)
    t.equal(result.text, 'signed body\n')
    t.match(result.state, { state: 'verified' })
  })

  t.test('plain text is unsigned, malformed armor is bad but keeps the text', async (t) => {
    t.same(await verifyInlineSigned('hello', candidates), { text: 'hello', state: { state: 'unsigned' } })
    const broken = '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhi\n-----BEGIN PGP SIGNATURE-----\n\n!!!\n-----END PGP SIGNATURE-----\n'
    const result = await verifyInlineSigned(broken, candidates)
    t.equal(result.text, broken)
    t.match(result.state, { state: 'bad' })
  })
})
