// The armored key bundle GnuPG 2.2 imports whatever its length: without the CRC line it
// fails when the base64 ends without "=" padding (a length divisible by three), which
// made the rotation test fail one run in three.
import t from 'tap'
import * as openpgp from 'openpgp'
import { armorKeys } from '../../src/keys/published.js'
import { createGpg } from '../helpers/gpg.js'
import { teamKey } from '../helpers/team-key.js'

t.test('a bundle whose length needs no base64 padding still imports into GnuPG', async (t) => {
  const team = await teamKey()
  const binary = (await openpgp.readKey({ armoredKey: team.armoredPublic })).write()
  const bundle = armorKeys([binary, binary, binary]) // 3 × n bytes: no "=" padding
  t.match(bundle, /\n=[A-Za-z0-9+/]{4}\r?\n-----END PGP PUBLIC KEY BLOCK-----/, 'CRC line before the end')
  const gpg = await createGpg()
  t.teardown(gpg.close)
  await gpg.importKey(bundle)
  const listing = (await gpg.run(['--with-colons', '--list-keys'])).toString()
  t.match(listing, new RegExp(`fpr:+${team.fingerprint}:`))
})
