// A key made by GnuPG with a long-lived primary and a short-lived encryption subkey: it
// is usable only until the subkey expires, so that date is what security.txt's Expires,
// the 30-day start warning and the published `expires` go by.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadPublication, publicationWarnings } from '../../src/keys/published.js'
import { securityTxtExpires } from '../../src/keys/security-txt.js'
import { createGpg } from '../helpers/gpg.js'

const DAY = 86_400_000

t.test('the encryption subkey expiry bounds the published key', async (t) => {
  const gpg = await createGpg()
  t.teardown(gpg.close)
  await gpg.run(['--quick-gen-key', 'Security Team <security@example.org>', 'ed25519', 'sign', '2y'])
  const fpr = /^fpr:+([0-9A-F]{40}):/m.exec((await gpg.run(['--with-colons', '--list-keys'])).toString())?.[1] as string
  await gpg.run(['--quick-add-key', fpr, 'cv25519', 'encr', '10d'])
  const dir = mkdtempSync(join(tmpdir(), 'intake-subkey-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'team.asc'), await gpg.run(['--armor', '--export', fpr]))

  const now = new Date()
  const pub = await loadPublication(dir, { production: false, now })
  const key = pub.primary
  t.equal(key?.fingerprint, fpr)
  const expires = key?.expires?.getTime() ?? Infinity
  t.ok(expires <= now.getTime() + 10 * DAY + 60_000, 'expires with its encryption subkey, not in 2 years')
  t.ok(expires > now.getTime() + 9 * DAY)
  t.ok(securityTxtExpires(now, 90, key?.expires).getTime() <= expires, 'security.txt Expires no later')
  t.ok(publicationWarnings(pub, now).some((w) => /within 30 days/.test(w)), 'warned at start')

  const later = await loadPublication(dir, { production: false, now: new Date(now.getTime() + 11 * DAY) })
  t.equal(later.primary, undefined, 'refused once the subkey expired')
  t.match(later.refused[0]?.reason, /encryption subkey/)
})
