// The web role serves the signed security.txt it finds in Redis, but never one past its
// Expires (a missing TTL or a clock skew) nor one that names a key no longer published
// (revoked, expired or removed since the worker last signed).
import t from 'tap'
import { Redis } from 'ioredis'
import { securityTxtBody, signSecurityTxt } from '../../src/keys/security-txt.js'
import { securityTxtKey } from '../../src/store/security-txt.js'
import { makeTeamKey, teamKey, type TeamKeyFixture } from '../helpers/team-key.js'
import { REDIS_URL } from '../helpers/redis.js'
import { startKeyWeb } from './harness.js'

async function signedBy (key: TeamKeyFixture, now: Date, expiresDays: number): Promise<string> {
  const body = securityTxtBody({
    securityEmail: 'security@example.org',
    publicUrl: 'https://security.example.org',
    fingerprint: key.fingerprint,
    preferredLanguages: 'en',
    expiresDays,
    now,
    development: false
  })
  const signer = key.keyring.secretKeys[0]
  if (signer === undefined) throw new Error('no secret key')
  return await signSecurityTxt(body, signer)
}

t.test('a stored security.txt past its Expires is not served', async (t) => {
  const team = await teamKey()
  const web = await startKeyWeb(t, { 'team.asc': team.armoredPublic })
  const redis = new Redis(REDIS_URL)
  t.teardown(() => { redis.disconnect() })
  // Signed 10 days ago with Expires 1 day later, and left without a TTL.
  await redis.set(securityTxtKey(web.prefix), await signedBy(team, new Date(Date.now() - 10 * 86_400_000), 1))
  const res = await web.get('/.well-known/security.txt')
  t.equal(res.status, 503)
  t.equal(res.headers.get('cache-control'), 'no-store')
  t.match(await res.text(), /expired/)

  await redis.set(securityTxtKey(web.prefix), await signedBy(team, new Date(), 30))
  t.equal((await web.get('/.well-known/security.txt')).status, 200, 'a current one is served')
})

t.test('a stored security.txt naming a key no longer published is not served', async (t) => {
  const gone = await makeTeamKey()
  const team = await teamKey()
  // KEYS_DIR now holds only the team key: `gone` was revoked or its file removed after
  // the worker signed a security.txt naming it.
  const web = await startKeyWeb(t, { 'team.asc': team.armoredPublic })
  const redis = new Redis(REDIS_URL)
  t.teardown(() => { redis.disconnect() })
  await redis.set(securityTxtKey(web.prefix), await signedBy(gone, new Date(), 30), 'EX', 3600)
  const res = await web.get('/security.txt')
  t.equal(res.status, 503)
  t.match(await res.text(), /no longer published/)
})
