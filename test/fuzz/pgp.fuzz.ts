// Property-based hostile OpenPGP (fast-check): real messages of every kind we meet
// (armored, binary, signed, compressed, AEAD as GnuPG 2.4 sends it, to a wrong key,
// without integrity protection from `gpg --rfc2440`, a compression bomb, a large
// literal, passphrase-only, hand-made literal packets claiming 4 GiB or chaining partial
// lengths), truncated, bit-flipped, spliced, doubled or prefixed with junk, and wrapped
// as PGP/MIME, inline armor or attachments. Every input must end processed or
// quarantined with a reason, in bounded time and memory; untouched messages must end
// exactly as they should.
import t from 'tap'
import fc from 'fast-check'
import { openReport } from '../../src/mail/open-report.js'
import { SCALE, SEED, mutate, outcome, pgpMutation, type PgpBase, type PgpMutation } from '../helpers/fuzz.js'
import { pgpBases, wrapPgp } from '../helpers/fuzz-pgp.js'
import { teamKey } from '../helpers/team-key.js'

const RUNS = 4000

t.test('mutated OpenPGP messages: processed or quarantined with a reason', async (t) => {
  const { keyring } = await teamKey()
  const pool = await pgpBases(t)
  // Weighted choice of the base: the bomb and the large literal cost ~0.1-0.5 s each.
  const weighted = pool.flatMap((b, i) => Array.from({ length: b.weight }, () => i))
  const counts = new Map<string, number>()
  await fc.assert(fc.asyncProperty(pgpMutation(weighted.length), async (m: PgpMutation) => {
    const base = pool[weighted[m.base] as number] as PgpBase
    const { bytes, intact } = mutate(base.binary, m)
    const damaged = m.op === 'armor-damage'
    const result = await outcome(() => openReport(wrapPgp(bytes, m.wrapper, damaged), { keyring }))
    const key = `${result.kind === 'processed' ? 'processed' : result.code}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
    // Untouched, each kind must come to its own end (the wrapper never changes that).
    if (intact && !damaged && base.expect !== 'any') {
      const got = result.kind === 'processed' ? 'processed' : result.code
      if (got !== base.expect) throw new Error(`${base.name} via ${m.wrapper}: expected ${base.expect}, got ${got}`)
      if (result.kind === 'processed' && !result.report.encrypted) throw new Error(`${base.name} via ${m.wrapper}: not decrypted`)
    }
  }), { numRuns: RUNS * SCALE, seed: SEED })
  const total = [...counts.values()].reduce((a, b) => a + b, 0)
  t.equal(total, RUNS * SCALE, `every input had an outcome: ${[...counts].map(([k, v]) => `${k} ${v}`).join(', ')}`)
  for (const code of ['processed', 'undecryptable', 'unauthenticated', 'tampered', 'too-large', 'unparsable']) t.ok(counts.has(code), `${code} occurs`)
})

t.test('the process survived with bounded memory', async (t) => {
  const rss = process.memoryUsage().rss / 2 ** 20
  t.ok(rss < 1536, `RSS after the runs: ${rss.toFixed(0)} MiB`)
})
