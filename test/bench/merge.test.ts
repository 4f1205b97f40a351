// A partial bench run (BENCH_ONLY) replaces its own sections and target rows only.
import t from 'tap'
import { mergeSections } from '../../bench/merge.js'

const old = `# Benchmarks

Written by a full run.

## Targets

| measure | target | measured | met |
|---|---|---|---|
| Ingest p99 | < 25 ms | 30 ms | **no** |
| Peak RSS, one message | < 300 MB | 372 MB | **no** |
| Worker vs GnuPG (best: DECRYPT_THREADS=0) | ≥ 2× | 0.87× | **no** |

## 1. Ingest

old ingest

## 4. Memory

old memory
`

t.test('sections and target rows re-run replace theirs; the rest is kept, in heading order', async (t) => {
  const out = mergeSections(old, ['## 4. Memory\n\nnew memory\n', '## 4c. Budget\n\nnew budget\n'], [{ name: 'Peak RSS, one message', target: '< 300 MB', measured: '250 MB', met: true }], 'Sections 4, 4c re-run alone.')
  t.match(out, /Written by a full run\.\nSections 4, 4c re-run alone\./)
  t.match(out, /\| Ingest p99 \| < 25 ms \| 30 ms \| \*\*no\*\* \|/)
  t.match(out, /\| Peak RSS, one message \| < 300 MB \| 250 MB \| yes \|/)
  t.notMatch(out, /372 MB|old memory/)
  t.same(out.split('\n').filter((l) => l.startsWith('## ')), ['## Targets', '## 1. Ingest', '## 4. Memory', '## 4c. Budget'])
})

t.test('a measure whose winning setting changed replaces its row, not beside it', async (t) => {
  const out = mergeSections(old, [], [{ name: 'Worker vs GnuPG (best: DECRYPT_THREADS=1)', target: '≥ 3×', measured: '0.32×', met: false }], 'Section 2 re-run alone.')
  t.match(out, /\| Worker vs GnuPG \(best: DECRYPT_THREADS=1\) \| ≥ 3× \| 0\.32× \| \*\*no\*\* \|/)
  t.notMatch(out, /0\.87×/)
})
