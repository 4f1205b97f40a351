// The reporter key store: public keys only, keyed by a hash of the normalized address,
// and a key on record is replaced only when the key on record signed the new message.
import t from 'tap'
import { Redis } from 'ioredis'
import * as openpgp from 'openpgp'
import { reporterKeyStore, addressHash, memoizedKeyStore, type ReporterKeyStore } from '../../src/pgp/key-store.js'
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
  t.equal(await store.remember('Ada@Example.NET ', first.publicKey, { source: 'autocrypt', vouched: false }), 'stored')
  const got = await store.get('ada@example.net')
  t.equal(got?.fingerprint, (await openpgp.readKey({ armoredKey: first.publicKey })).getFingerprint().toUpperCase(), 'found under the normalized address')
  t.equal(got?.source, 'autocrypt')
  // Review of issue 6: From in U-labels, the reply address in A-labels (messages.ts): one key.
  t.equal(await store.remember('joerg@bücher.example', first.publicKey, { source: 'autocrypt', vouched: false }), 'stored')
  t.equal((await store.get('joerg@xn--bcher-kva.example'))?.fingerprint, got?.fingerprint, 'an IDN address finds its key in either form')
  await redis.del(`${prefix}:gw:reporter-key:${addressHash('joerg@bücher.example')}`)
  t.same(await keysUnder(redis, prefix), [`${prefix}:gw:reporter-key:${addressHash('ada@example.net')}`], 'one key, named by hash only')
  t.ok(await redis.ttl(`${prefix}:gw:reporter-key:${addressHash('ada@example.net')}`) > 0, 'expires')

  t.equal(await store.remember('ada@example.net', second.publicKey, { source: 'autocrypt', vouched: false }), 'kept', 'an unsigned claim does not replace the key on record')
  t.equal((await store.get('ada@example.net'))?.fingerprint, got?.fingerprint)
  t.equal(await store.remember('ada@example.net', second.publicKey, { source: 'attached', vouched: true }), 'stored', 'a key vouched for by the key on record (it signed the message) does')
  t.not((await store.get('ada@example.net'))?.fingerprint, got?.fingerprint)

  // An expired key on record gives way to a new one, signed or not.
  const expired = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'eva@example.net' }], keyExpirationTime: 1, date: new Date(Date.now() - 3600_000), format: 'armored' })
  await redis.hset(`${prefix}:gw:reporter-key:${addressHash('eva@example.net')}`, { armored: expired.publicKey, fingerprint: 'OLD', source: 'autocrypt' })
  t.equal(await store.get('eva@example.net'), undefined, 'an expired key is not used')
  const fresh = await keyFor('eva@example.net')
  t.equal(await store.remember('eva@example.net', fresh.publicKey, { source: 'autocrypt', vouched: false }), 'stored')

  t.equal(await store.remember('bob@example.net', first.privateKey, { source: 'attached', vouched: true }), 'refused', 'secret keys are never stored')
  const signOnly = await keyFor('carl@example.net', false)
  t.equal(await store.remember('carl@example.net', signOnly.publicKey, { source: 'attached', vouched: true }), 'refused', 'a key that cannot encrypt is of no use')
  t.equal(await store.remember('dan@example.net', 'not a key', { source: 'attached', vouched: false }), 'refused')
  for (const name of await keysUnder(redis, prefix)) t.notMatch(String(await redis.hget(name, 'armored')), /PRIVATE/)
})

// Review of issue 6: a copy of the same key sent again replaced the stored one outright,
// so anybody could strip a revocation (here: of the newest encryption subkey) by
// re-sending an older copy of the reporter's public key. The copies are merged instead.
t.test('a stale copy of the key on record does not undo a subkey revocation', async (t) => {
  const prefix = uniquePrefix('keys')
  const redis = new Redis(REDIS_URL)
  t.teardown(async () => { redis.disconnect(); await dropPrefix(prefix) })
  const store = reporterKeyStore(redis, prefix)
  const earlier = new Date(Date.now() - 3600_000)
  const { privateKey } = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ email: 'ida@example.net' }], date: earlier, subkeys: [{ date: earlier }, { date: new Date() }] as never, format: 'object' })
  const stale = privateKey.toPublic().armor()
  const newest = privateKey.subkeys[1]!
  privateKey.subkeys[1] = await newest.revoke(privateKey.keyPacket as never)
  const revoked = privateKey.toPublic().armor()
  const newestId = newest.getKeyID().toHex()

  t.equal(await store.remember('ida@example.net', revoked, { source: 'attached', vouched: false }), 'stored')
  t.not((await (await store.get('ida@example.net'))!.key.getEncryptionKey()).getKeyID().toHex(), newestId, 'the revoked subkey is not used')
  t.equal(await store.remember('ida@example.net', stale, { source: 'autocrypt', vouched: false }), 'stored', 'the same key again: merged')
  t.not((await (await store.get('ida@example.net'))!.key.getEncryptionKey()).getKeyID().toHex(), newestId, 'still not after the stale copy')
})

t.test('memoized per run: one read per address (the open and the reply ask for the same sender), a remember forgets', async (t) => {
  const prefix = uniquePrefix('keys-memo')
  const redis = new Redis(REDIS_URL)
  t.teardown(async () => { redis.disconnect(); await dropPrefix(prefix) })
  const inner = reporterKeyStore(redis, prefix)
  let reads = 0
  const counted: ReporterKeyStore = { ...inner, get: async (address) => { reads++; return await inner.get(address) } }
  const store = memoizedKeyStore(counted)
  const { publicKey } = await keyFor('grace@example.net')
  t.equal(await store.get('grace@example.net'), undefined)
  t.equal(await store.get('Grace@Example.NET'), undefined, 'the same address, spelled otherwise')
  t.equal(reads, 1, 'read once')
  t.equal(await store.remember('grace@example.net', publicKey, { source: 'autocrypt', vouched: false }), 'stored')
  t.ok(await store.get('grace@example.net'), 'after a remember the key is read again, and found')
  t.equal(reads, 2)
  t.ok(await store.get('grace@example.net'))
  t.equal(reads, 2, 'and then kept')
})
