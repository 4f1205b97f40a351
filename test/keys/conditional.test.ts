// Every key route that answers 200 carries an ETag and Cache-Control, answers HEAD with
// the same headers and no body, and answers a matching If-None-Match with 304.
import t from 'tap'
import { teamKey } from '../helpers/team-key.js'
import { wkdHash } from '../../src/keys/wkd.js'
import { startKeyWeb } from './harness.js'

t.test('ETag, Cache-Control, HEAD and 304 on every key route', async (t) => {
  const team = await teamKey()
  const web = await startKeyWeb(t, { 'team.asc': team.armoredPublic })
  await web.publish(team.keyring)
  const hash = wkdHash('security@example.org')
  const routes: Record<string, string> = {
    '/pgp-key.asc': 'application/pgp-keys',
    [`/.well-known/openpgpkey/hu/${hash}`]: 'application/octet-stream',
    [`/.well-known/openpgpkey/example.org/hu/${hash}`]: 'application/octet-stream',
    '/.well-known/openpgpkey/policy': 'text/plain; charset=utf-8',
    '/.well-known/openpgpkey/example.org/policy': 'text/plain; charset=utf-8',
    [`/pks/lookup?op=get&search=0x${team.fingerprint}`]: 'application/pgp-keys',
    '/pks/lookup?op=index&options=mr&search=security@example.org': 'text/plain; charset=utf-8',
    '/.well-known/security.txt': 'text/plain; charset=utf-8',
    '/security.txt': 'text/plain; charset=utf-8',
    '/': 'text/html; charset=utf-8',
    '/security': 'text/html; charset=utf-8'
  }
  for (const [path, type] of Object.entries(routes)) {
    const res = await web.get(path)
    t.equal(res.status, 200, path)
    t.equal(res.headers.get('content-type'), type, `${path} content type`)
    t.match(res.headers.get('cache-control'), /max-age=\d+/, `${path} cache-control`)
    const etag = res.headers.get('etag')
    t.ok(etag, `${path} etag`)
    const head = await web.get(path, { method: 'HEAD' })
    t.equal(head.status, 200, `${path} HEAD`)
    t.equal(head.headers.get('etag'), etag, `${path} HEAD etag`)
    t.equal(head.headers.get('content-type'), type, `${path} HEAD content type`)
    t.equal((await head.arrayBuffer()).byteLength, 0, `${path} HEAD has no body`)
    const again = await web.get(path, { headers: { 'if-none-match': etag as string } })
    t.equal(again.status, 304, `${path} 304`)
    t.equal((await again.arrayBuffer()).byteLength, 0)
  }
})
