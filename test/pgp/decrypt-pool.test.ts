// Decryption threads give the same results as the main thread: the text, the key that
// decrypted it, inner signatures verified afterwards, and our errors with their codes.
import t from 'tap'
import * as openpgp from 'openpgp'
import { openReport } from '../../src/mail/open-report.js'
import { createDecryptPool } from '../../src/pgp/decrypt-pool.js'
import { ReportError } from '../../src/domain/errors.js'
import { inlineBody, message, openpgpEncrypt, pgpMimeEncrypted, textPart } from '../helpers/gpg.js'
import { makeTeamKey, teamKey } from '../helpers/team-key.js'

t.test('a report decrypted in a thread reads exactly as one decrypted here', async (t) => {
  const team = await teamKey()
  const pool = createDecryptPool({ threads: 2, armored: [team.armoredSecret] })
  t.teardown(pool.close)
  const threaded = { ...team.keyring, offload: pool.decrypt }
  const reporter = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'reporter@example.net' }], format: 'object' })
  const ciphertext = await openpgpEncrypt(textPart('SSRF in the webhook tester\n'), { to: [team.keyring.published], signingKeys: [reporter.privateKey] })
  const raw = message({ from: 'Reporter <reporter@example.net>' }, pgpMimeEncrypted(ciphertext))
  const here = await openReport(raw, { keyring: team.keyring, knownSenderKeys: async () => [reporter.publicKey] })
  const there = await openReport(raw, { keyring: threaded, knownSenderKeys: async () => [reporter.publicKey] })
  t.equal(there.text, here.text)
  t.equal(there.decryptedWith, team.fingerprint)
  t.same(there.signature, here.signature)
  t.match(there.signature, { state: 'verified' }, 'inner signature verified on the main thread after the thread decrypted')

  // many at once: the pool queues them, every answer matches its question
  const texts = Array.from({ length: 12 }, (_, i) => `report number ${i}\n`)
  const raws = await Promise.all(texts.map(async (text) => message({}, inlineBody(await openpgpEncrypt(text, { to: [team.keyring.published] }), '8bit'))))
  const opened = await Promise.all(raws.map(async (r) => await openReport(r, { keyring: threaded })))
  t.same(opened.map((o) => o.text.trim()), texts.map((x) => x.trim()))
})

t.test('errors cross back with their code', async (t) => {
  const team = await teamKey()
  const other = await makeTeamKey({ email: 'other@example.org' })
  const pool = createDecryptPool({ threads: 1, armored: [team.armoredSecret] })
  t.teardown(pool.close)
  const threaded = { ...team.keyring, offload: pool.decrypt }
  const wrong = message({}, pgpMimeEncrypted(await openpgpEncrypt(textPart('x'), { to: [other.keyring.published] })))
  const err = await openReport(wrong, { keyring: threaded }).then(() => undefined, (e: unknown) => e)
  t.type(err, ReportError)
  t.equal((err as ReportError).code, 'undecryptable')
  const tiny = await pool.decrypt(await openpgpEncrypt('0123456789', { to: [team.keyring.published] }), 4).then(() => undefined, (e: unknown) => e)
  t.equal((tiny as ReportError).code, 'too-large', 'the cap travels with the job')
})
