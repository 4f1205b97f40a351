// Error answers of the key routes must not be cached: a 404 is heuristically cacheable,
// and a cached "no key" would outlive the key's publication.
import t from 'tap'
import { teamKey } from '../helpers/team-key.js'
import { wkdHash } from '../../src/keys/wkd.js'
import { startKeyWeb } from './harness.js'

t.test('404, 400 and 501 of the key routes say no-store', async (t) => {
  const team = await teamKey()
  const web = await startKeyWeb(t, { 'team.asc': team.armoredPublic })
  const nobody = wkdHash('nobody@example.org')
  const cases: Array<[string, number]> = [
    [`/.well-known/openpgpkey/hu/${nobody}`, 404],
    [`/.well-known/openpgpkey/example.net/hu/${wkdHash('security@example.org')}`, 404],
    ['/.well-known/openpgpkey/example.net/policy', 404],
    ['/pks/lookup?op=get&search=nobody@example.org', 404],
    ['/pks/lookup?op=get&search=0x0123456789ABCDEF', 404],
    ['/pks/lookup?op=get&search=Security', 400],
    ['/pks/lookup?op=add', 501]
  ]
  for (const [path, status] of cases) {
    const res = await web.get(path)
    t.equal(res.status, status, path)
    t.equal(res.headers.get('cache-control'), 'no-store', path)
  }
  const ok = await web.get('/pgp-key.asc')
  t.match(ok.headers.get('cache-control'), /max-age/, 'a found key stays cacheable')
})
