// The worker's progress journal (src/store/progress.ts) and the Redis helpers under it
// (src/store/exec.ts): what is noted rides with the next record, a record is written
// before it returns, a write Redis refuses fails the step, scripts survive SCRIPT FLUSH.
import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { progressStore } from '../../src/store/progress.js'
import { reportEvents } from '../../src/store/events.js'
import { execAll, luaScript } from '../../src/store/exec.js'
import { gatewayKeys } from '../../src/queue/jobs.js'
import { STATE_TTL_SECONDS } from '../../src/store/retention.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'

async function world (t: Test) {
  const redis = new Redis(REDIS_URL)
  const prefix = uniquePrefix('journal')
  t.teardown(async () => { redis.disconnect(); await dropPrefix(prefix) })
  return { redis, prefix, keys: gatewayKeys(prefix), store: progressStore(redis, prefix), events: reportEvents(redis, prefix) }
}

t.test('noted fields and events wait for the next record; a record writes them with its own, in one round trip', async (t) => {
  const { redis, prefix, keys, store, events } = await world(t)
  const progress = await store.open('r1')
  progress.event('received', { at: '2026-12-01T10:00:00.000Z', detail: 'via raw' })
  progress.note({ collaborators: 'none' })
  t.equal(progress.state.collaborators, 'none', 'a noted field is in the state at once')
  t.same(await redis.hgetall(keys.state('r1')), {}, 'nothing written yet')
  t.same(await redis.hgetall(keys.events('r1')), {}, 'no event written yet')

  await progress.record({ advisoryPending: '1' }, [['set', `${prefix}:x`, 'r1', 'EX', 60]])
  t.same(await redis.hgetall(keys.state('r1')), { collaborators: 'none', advisoryPending: '1' }, 'the record carried the noted field')
  t.same((await events.list('r1')).map((e) => e.kind), ['received'], 'and the event')
  t.equal(await redis.get(`${prefix}:x`), 'r1', 'and the command it was given')
  t.ok(await redis.ttl(keys.state('r1')) > STATE_TTL_SECONDS - 10, 'the state expires')
  t.ok(await redis.ttl(keys.events('r1')) > STATE_TTL_SECONDS - 10, 'the events expire')

  progress.event('received', { detail: 'again' })
  progress.event('decrypted')
  await progress.flush()
  const listed = await events.list('r1')
  t.same(listed.map((e) => e.kind), ['received', 'decrypted'], 'flush writes what is left')
  t.equal(listed[0]?.detail, 'via raw', 'an event keeps its first record (HSETNX)')
  t.equal(listed[0]?.at, '2026-12-01T10:00:00.000Z')
  await progress.flush() // nothing left: no write
  t.same(await (await store.open('r1')).state, { collaborators: 'none', advisoryPending: '1' }, 'a new run reads what was written')
})

t.test('a write Redis refuses fails the record, and what it carried is kept for the next write', async (t) => {
  const { redis, prefix, keys, store, events } = await world(t)
  const progress = await store.open('r2')
  // The state key is a string: HSET on it is refused (as an OOM under noeviction would be).
  await redis.set(keys.state('r2'), 'not a hash')
  progress.event('received')
  const mapping = `${prefix}:ghsa-mapping`
  await t.rejects(progress.record({ ghsaId: 'GHSA-aaaa-bbbb-cccc' }, [['set', mapping, 'r2']]), /WRONGTYPE/, 'the refused write is an error, not a silent pass')
  await redis.del(keys.state('r2'), mapping)
  await progress.flush()
  t.same(await redis.hgetall(keys.state('r2')), { ghsaId: 'GHSA-aaaa-bbbb-cccc' }, 'the next write carries the field again')
  t.equal(await redis.get(mapping), 'r2', 'and the commands it carried (red-team: a lost GHSA mapping)')
  progress.note({}, [['set', `${prefix}:later`, '1']])
  await progress.flush()
  t.equal(await redis.get(`${prefix}:later`), '1', 'commands noted for the next write')
  t.same((await events.list('r2')).map((e) => e.kind), ['received'], 'and the event, once')
})

t.test('execAll: a pipeline or MULTI whose command fails rejects (ioredis resolves with the error inside)', async (t) => {
  const { redis, prefix } = await world(t)
  await redis.set(`${prefix}:s`, 'x')
  const raw = await redis.pipeline().hset(`${prefix}:s`, 'a', 'b').exec()
  t.match(String(raw?.[0]?.[0]), /WRONGTYPE/, 'ioredis itself resolves')
  await t.rejects(execAll(redis.pipeline().hset(`${prefix}:s`, 'a', 'b').expire(`${prefix}:s`, 10)), /WRONGTYPE/)
  await t.rejects(execAll(redis.multi().hset(`${prefix}:s`, 'a', 'b')), /WRONGTYPE/)
  t.same(await execAll(redis.pipeline().incr(`${prefix}:n`).incr(`${prefix}:n`)), [1, 2], 'results in order')
})

t.test('luaScript: run by its SHA; after SCRIPT FLUSH (a Redis restart) its text is sent again', async (t) => {
  const { redis, prefix } = await world(t)
  const incrBy = luaScript("return redis.call('incrby', KEYS[1], ARGV[1])")
  t.equal(await incrBy(redis, [`${prefix}:c`], [2]), 2)
  await redis.script('FLUSH')
  t.equal(await incrBy(redis, [`${prefix}:c`], [3]), 5, 'NOSCRIPT answered by EVAL')
  const info = await redis.info('commandstats')
  const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
  t.ok(calls('evalsha') > 0, 'EVALSHA is used')
  await t.rejects(luaScript('return redis.call(\'nosuchcommand\')')(redis, [], []), /Unknown Redis command|unknown command/i, 'other script errors are not retried as NOSCRIPT')
})
