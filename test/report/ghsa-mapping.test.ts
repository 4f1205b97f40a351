// Red-team finding on the progress journal: the GHSA -> report mapping rode only on the
// record that stores ghsaId. One failed write of that record (a dropped connection) left
// ghsaId on record without the mapping; the retry saw ghsaId, skipped filing, and never
// wrote it, so a follow-up that named the advisory opened a second one. The fault is a
// transient failure of the real client's round trip (Redis itself is real).
import t from 'tap'
import { Pipeline } from 'ioredis'
import { stacklokLabs } from '../helpers/stackloklabs.js'
import { plainMessage } from '../helpers/messages.js'

// One transient failure of the round trip that records ghsaId (+ the GHSA mapping), as a dropped connection would give.
let failed = false
const exec = (Pipeline.prototype as any).exec
;(Pipeline.prototype as any).exec = function (this: any, ...args: unknown[]) {
  const q: Array<{ name: string, args: unknown[] }> = this._queue ?? []
  if (!failed && q.some((c) => c.name === 'set' && String(c.args[0]).includes(':gw:ghsa:'))) {
    failed = true
    return Promise.reject(new Error('Connection is closed.'))
  }
  return exec.apply(this, args)
}

t.test('one failed write of the ghsaId record: the retry writes the GHSA mapping, a follow-up naming the advisory joins it', async (t) => {
  const { stub, gw, advisoryOf } = await stacklokLabs(t)
  const root = await gw.post(plainMessage({ from: 'Rita <rita@example.org>', subject: '[fetch] SSRF', messageId: 'root-9@example.org', body: 'The fetch tool follows redirects.\n' }))
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 1, 'report filed', 30_000)
  t.ok(failed, 'the fault fired')
  const adv = advisoryOf(root.id as string)
  if (adv === undefined) return t.fail('no advisory')
  t.teardown(() => { (Pipeline.prototype as any).exec = exec })
  const state = await gw.redis.hgetall(`${gw.prefix}:gw:state:${root.id}`)
  t.equal(state.ghsaId, adv.ghsa_id, 'ghsaId on record')
  const mapping = await gw.redis.get(`${gw.prefix}:gw:ghsa:${String(adv.ghsa_id).toLowerCase()}`)
  t.equal(mapping, root.id, 'the GHSA mapping names the report')
  await gw.post(plainMessage({ from: 'Rita <rita@example.org>', subject: `Update on ${adv.ghsa_id}`, messageId: 'fu-9@example.org', body: 'more detail\n' }))
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 2, 'follow-up', 30_000)
  t.equal(stub.advisories.length, 1, 'a GHSA-quoting follow-up joins the advisory')
})

t.test('a retry that finds ghsaId on record but no GHSA mapping (a pipeline is not atomic) writes the mapping', async (t) => {
  failed = true // no injected fault here
  const { stub, gw, advisoryOf } = await stacklokLabs(t)
  const root = await gw.post(plainMessage({ from: 'Rita <rita@example.org>', subject: '[fetch] SSRF', messageId: 'root-10@example.org', body: 'The fetch tool follows redirects.\n' }))
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 1, 'report filed', 30_000)
  const id = root.id as string
  const adv = advisoryOf(id)
  if (adv === undefined) return t.fail('no advisory')
  const mappingKey = `${gw.prefix}:gw:ghsa:${String(adv.ghsa_id).toLowerCase()}`
  // As if the state write landed and the mapping did not, and the run then died.
  await gw.redis.del(mappingKey)
  await gw.redis.hdel(`${gw.prefix}:gw:state:${id}`, 'outcome')
  const job = await gw.queue.getJob(id)
  if (job === undefined) return t.fail('no job')
  const data = job.data
  await job.remove()
  await gw.queue.add('process-report', data, { jobId: id })
  await gw.waitFor(async () => await gw.redis.hget(`${gw.prefix}:gw:state:${id}`, 'outcome') === 'advisory', 'the retry ended', 30_000)
  t.equal(await gw.redis.get(mappingKey), id, 'the retry wrote the GHSA mapping')
  t.equal(stub.advisories.length, 1, 'and filed nothing twice')
})
