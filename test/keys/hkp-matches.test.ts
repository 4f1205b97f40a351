// HKP op=get answers with the keys that match the search, not every published key.
import t from 'tap'
import { readKeys } from 'openpgp'
import { makeTeamKey, teamKey } from '../helpers/team-key.js'
import { startKeyWeb } from './harness.js'

t.test('op=get by address: only the matching keys', async (t) => {
  const team = await teamKey()
  const second = await makeTeamKey()
  const other = await makeTeamKey({ email: 'other@example.org' })
  const web = await startKeyWeb(t, { 'team.asc': team.armoredPublic, 'second.asc': second.armoredPublic, 'other.asc': other.armoredPublic })
  const fingerprints = async (path: string) => {
    const res = await web.get(path)
    t.equal(res.status, 200, path)
    const keys = await readKeys({ armoredKeys: await res.text() })
    return keys.map((k) => k.getFingerprint().toUpperCase()).sort()
  }
  t.same(await fingerprints('/pks/lookup?op=get&search=security@example.org'), [team.fingerprint, second.fingerprint].sort(), 'two match, the third is not sent')
  t.same(await fingerprints('/pks/lookup?op=get&search=other@example.org'), [other.fingerprint])
  t.same((await fingerprints('/pgp-key.asc')), [team.fingerprint, second.fingerprint, other.fingerprint].sort(), 'all three are published')
})
