// The reporter key store: public keys only, keyed by a hash of the normalized address,
// and a key on record is replaced only by one that signed the new message.
import t from 'tap'
import { Redis } from 'ioredis'
import * as openpgp from 'openpgp'
import { reporterKeyStore, addressHash } from '../../src/pgp/key-store.js'
import { REDIS_URL, dropPrefix, keysUnder, uniquePrefix } from '../helpers/redis.js'

async function keyFor (email: string, encrypt = true) {
  const { privateKey, publicKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email }], format: 'armored', ...(encrypt ? {} : { subkeys: [] }) })
  return { privateKey, publicKey }
}

t.test('reporter key store', async (t) => {
  const prefix = uniquePrefix('keys')
  const redis = new Redis(REDIS_URL)
  t.teardown(async () => { redis.disconnect(); await dropPrefix(prefix) })
  const store = reporterKeyStore(redis, prefix)
  const first = await keyFor('ada@example.net')
  const second = await keyFor('ada@example.net')

  t.equal(await store.get('ada@example.net'), undefined)
  t.equal(await store.remember('Ada@Example.NET ', first.publicKey, { source: 'autocrypt', signed: false }), 'stored')
  const got = await store.get('ada@example.net')
  t.equal(got?.fingerprint, (await openpgp.readKey({ armoredKey: first.publicKey })).getFingerprint().toUpperCase(), 'found under the normalized address')
  t.equal(got?.source, 'autocrypt')
  t.same(await keysUnder(redis, prefix), [`${prefix}:gw:reporter-key:${addressHash('ada@example.net')}`], 'one key, named by hash only')
  t.ok(await redis.ttl(`${prefix}:gw:reporter-key:${addressHash('ada@example.net')}`) > 0, 'expires')

  t.equal(await store.remember('ada@example.net', second.publicKey, { source: 'autocrypt', signed: false }), 'kept', 'an unsigned claim does not replace the key on record')
  t.equal((await store.get('ada@example.net'))?.fingerprint, got?.fingerprint)
  t.equal(await store.remember('ada@example.net', second.publicKey, { source: 'attached', signed: true }), 'stored', 'a key that signed the new message does')
  t.not((await store.get('ada@example.net'))?.fingerprint, got?.fingerprint)

  // An expired key on record gives way to a new one, signed or not.
  const expired = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'eva@example.net' }], keyExpirationTime: 1, date: new Date(Date.now() - 3600_000), format: 'armored' })
  await redis.hset(`${prefix}:gw:reporter-key:${addressHash('eva@example.net')}`, { armored: expired.publicKey, fingerprint: 'OLD', source: 'autocrypt' })
  t.equal(await store.get('eva@example.net'), undefined, 'an expired key is not used')
  const fresh = await keyFor('eva@example.net')
  t.equal(await store.remember('eva@example.net', fresh.publicKey, { source: 'autocrypt', signed: false }), 'stored')

  t.equal(await store.remember('bob@example.net', first.privateKey, { source: 'attached', signed: true }), 'refused', 'secret keys are never stored')
  const signOnly = await keyFor('carl@example.net', false)
  t.equal(await store.remember('carl@example.net', signOnly.publicKey, { source: 'attached', signed: true }), 'refused', 'a key that cannot encrypt is of no use')
  t.equal(await store.remember('dan@example.net', 'not a key', { source: 'attached', signed: false }), 'refused')
  for (const name of await keysUnder(redis, prefix)) t.notMatch(String(await redis.hget(name, 'armored')), /PRIVATE/)
})
