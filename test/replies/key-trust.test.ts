// Review of issue 6: a stranger must not replace a reporter's key on record. From is not
// authenticated, and a signature made by a key that arrives in the same message proves
// only that the sender holds that key, so a forged mail "from" the reporter carrying
// (and signed with) the stranger's key would otherwise redirect every later encrypted
// reply, the published notice included, to a key the reporter cannot read.
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'
import { attachmentPart, createGpg, message, multipart, pgpMimeSigned, textPart } from '../helpers/gpg.js'
import { openMail } from '../helpers/pgp-mail.js'
import { teamKey } from '../helpers/team-key.js'
import { addressHash } from '../../src/pgp/key-store.js'

t.test('a forged mail signed with the stranger\'s own attached key does not replace the key on record', async (t) => {
  const team = await teamKey()
  const smtp = await startSmtpSink()
  t.teardown(smtp.close)
  const gw = await startGateway(t, { PGP_PRIVATE_KEY: team.armoredSecret, SECURITY_EMAIL: 'security@example.org', SMTP_URL: smtp.url })
  const homes = []
  for (let i = 0; i < 2; i++) {
    const gpg = await createGpg()
    t.teardown(gpg.close)
    await gpg.importKey(team.armoredPublic)
    homes.push({ gpg, key: await gpg.generateKey({ name: 'Ada', email: 'ada@example.net', encryptionSubkey: 'cv25519' }) })
  }
  const [ada, mallory] = homes as [NonNullable<(typeof homes)[0]>, NonNullable<(typeof homes)[0]>]
  const toAda = () => smtp.messages.filter((m) => m.envelope.rcptTo.some((r) => r.address === 'ada@example.net'))
  const stored = async () => await gw.redis.hget(`${gw.prefix}:gw:reporter-key:${addressHash('ada@example.net')}`, 'fingerprint')

  // 1. Ada's first report hands over her key (first key on record).
  const first = message({ from: 'ada@example.net', to: 'security@example.org', messageId: 'ada-1@example.net' }, multipart('mixed', [
    textPart('First report, key attached.\n'),
    attachmentPart({ filename: 'ada.asc', contentType: 'application/pgp-keys', content: ada.key.armoredPublic })
  ]))
  t.equal((await gw.post(first)).status, 200)
  await gw.waitFor(() => toAda().length === 1, 'first ack')
  t.equal(await stored(), ada.key.fingerprint, 'Ada\'s key is on record')

  // 2. Mallory forges From: ada, attaches a key with Ada's user ID, and signs with it.
  const inner = multipart('mixed', [
    textPart('Please use my new key.\n'),
    attachmentPart({ filename: 'ada.asc', contentType: 'application/pgp-keys', content: mallory.key.armoredPublic })
  ])
  const forged = message({ from: 'ada@example.net', to: 'security@example.org', messageId: 'forged-1@example.net' },
    pgpMimeSigned(inner, await mallory.gpg.sign(inner, { signer: mallory.key.fingerprint, mode: 'detach' })))
  t.equal((await gw.post(forged)).status, 200)
  await gw.waitFor(() => toAda().length === 2, 'ack of the forged mail')
  t.equal(await stored(), ada.key.fingerprint, 'the key on record is kept')

  // 3. Whatever goes to Ada next is readable by Ada, not by Mallory.
  const later = toAda()[1]!.raw
  t.equal((await openMail(ada.gpg, later)).kind, 'encrypted', 'encrypted to the key on record')
  await t.rejects(openMail(mallory.gpg, later), 'not to the stranger\'s key')
})
