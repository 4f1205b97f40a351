// Property-based hostile MIME (fast-check): random trees of parts with odd boundaries,
// charsets and transfer encodings, folded headers, encoded words, truncation and byte
// flips. Every input must end processed or quarantined with a reason (a ReportError
// with a known code), in bounded time, and the process must survive. Runs the pure
// open path in-process; test/fuzz/queue.fuzz.ts sends a sample through the queue.
import t from 'tap'
import fc from 'fast-check'
import { openReport } from '../../src/mail/open-report.js'
import { SCALE, SEED, deep, messageShape, outcome, render, tree } from '../helpers/fuzz.js'
import { teamKey } from '../helpers/team-key.js'

t.test('random MIME trees: processed or quarantined with a reason', async (t) => {
  const { keyring } = await teamKey()
  const seen = { processed: 0, quarantined: 0 }
  await fc.assert(fc.asyncProperty(messageShape(tree), async (shape) => {
    const result = await outcome(() => openReport(render(shape), { keyring }))
    seen[result.kind]++
  }), { numRuns: 4500 * SCALE, seed: SEED })
  t.equal(seen.processed + seen.quarantined, 4500 * SCALE, `every input had an outcome (${seen.processed} processed, ${seen.quarantined} quarantined)`)
  t.ok(seen.processed > 0 && seen.quarantined > 0, 'both outcomes occur: the generator reaches both sides')
})

t.test('nesting beyond the limit: always a reason, never a stack overflow', async (t) => {
  const { keyring } = await teamKey()
  let runs = 0
  await fc.assert(fc.asyncProperty(messageShape(deep), async (shape) => {
    await outcome(() => openReport(render(shape), { keyring }))
    runs++
  }), { numRuns: 500 * SCALE, seed: SEED })
  t.equal(runs, 500 * SCALE)
})

t.test('the process survived with bounded memory', async (t) => {
  global.gc?.()
  const rss = process.memoryUsage().rss / 2 ** 20
  t.ok(rss < 1024, `RSS after the runs: ${rss.toFixed(0)} MiB`)
})
