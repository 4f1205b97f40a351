import t from 'tap'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { intakeMarker } from '../../src/advisory/marker.js'
import { AdvisoryPermanentError, outboxSink, type AdvisoryCreateBody } from '../../src/advisory/sink.js'

function createBody (intakeId: string, summary = 'Path traversal in export'): AdvisoryCreateBody {
  return {
    summary,
    description: `${intakeMarker(intakeId)}\n\nReport text with "quotes", unicode \u00e9 and a\ttab.`,
    vulnerabilities: [{ package: { ecosystem: 'other', name: null } }],
    cvss_vector_string: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N',
    credits: null
  }
}

t.test('writes the exact body as pretty JSON, 0600, and returns a local ref', async (t) => {
  const outbox = join(t.testdir(), 'outbox')
  const sink = outboxSink(outbox)
  const body = createBody('intake-1')
  const ref = await sink.create({ owner: 'acme', repo: 'widget', intakeId: 'intake-1', body })
  const file = join(outbox, 'advisories', 'intake-1.json')
  t.same(ref, { ghsaId: 'LOCAL-intake-1', htmlUrl: pathToFileURL(file).href, created: true })
  t.equal(await readFile(file, 'utf8'), JSON.stringify(body, null, 2) + '\n')
  t.same(JSON.parse(await readFile(file, 'utf8')), body)
  t.equal((await stat(file)).mode & 0o777, 0o600)
  t.equal((await stat(join(outbox, 'advisories'))).mode & 0o777, 0o700)
  t.same(await readdir(join(outbox, 'advisories')), ['intake-1.json'], 'no temp files left')
})

t.test('idempotent: an existing file is kept and reported as not created', async (t) => {
  const outbox = t.testdir()
  const sink = outboxSink(outbox)
  const first = await sink.create({ owner: 'acme', repo: 'widget', intakeId: 'intake-2', body: createBody('intake-2') })
  const again = await sink.create({ owner: 'acme', repo: 'widget', intakeId: 'intake-2', body: createBody('intake-2', 'different') }, { lookupFirst: true })
  t.same(again, { ...first, created: false })
  const saved = JSON.parse(await readFile(join(outbox, 'advisories', 'intake-2.json'), 'utf8')) as AdvisoryCreateBody
  t.equal(saved.summary, 'Path traversal in export', 'not rewritten')
})

t.test('an intake id that is not a plain file name is refused', async (t) => {
  const sink = outboxSink(t.testdir())
  for (const intakeId of ['../escape', 'a/b', '.hidden', '']) {
    await t.rejects(sink.create({ owner: 'o', repo: 'r', intakeId, body: createBody(intakeId) }), AdvisoryPermanentError, JSON.stringify(intakeId))
  }
})
