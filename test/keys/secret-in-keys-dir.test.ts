// A secret key dropped into KEYS_DIR by mistake is never published, whatever the file is
// called and whatever its armor header claims.
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readKeys } from 'openpgp'
import { loadPublication } from '../../src/keys/published.js'
import { makeTeamKey, teamKey } from '../helpers/team-key.js'

t.test('secret keys in KEYS_DIR are refused, never served', async (t) => {
  const team = await teamKey()
  const leaked = await makeTeamKey()
  const disguised = await makeTeamKey()
  const dir = mkdtempSync(join(tmpdir(), 'intake-secret-dir-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'team.asc'), team.armoredPublic)
  writeFileSync(join(dir, 'leaked.asc'), leaked.armoredSecret)
  writeFileSync(join(dir, 'disguised.asc'), disguised.armoredSecret.replace(/PRIVATE KEY BLOCK/g, 'PUBLIC KEY BLOCK'))
  const pub = await loadPublication(dir, { production: true })
  t.same(pub.keys.map((k) => k.fingerprint), [team.fingerprint])
  t.same(pub.refused.map((r) => r.file).sort(), ['disguised.asc', 'leaked.asc'])
  for (const r of pub.refused) t.match(r.reason, /secret key/)
  const served = await readKeys({ armoredKeys: pub.armored })
  t.notOk(served.some((k) => k.isPrivate()), 'nothing private in /pgp-key.asc')
  t.notMatch(pub.armored, /PRIVATE/)
})
