import t from 'tap'
import { readFileSync } from 'node:fs'
import { Ajv } from 'ajv'
import { buildCreateBody, renderAdvisory, renderSummary } from '../../src/advisory/render.js'
import { intakeMarker } from '../../src/advisory/marker.js'
import { limits } from '../../src/domain/limits.js'
import type { OpenedReport } from '../../src/domain/report.js'

const meta = { intakeId: 'in_01HZX3', receivedAt: new Date('2026-11-28T10:00:00Z'), provider: 'raw' }

function report (over: Partial<OpenedReport> = {}): OpenedReport {
  return {
    messageId: '<r1@example.org>',
    references: [],
    subject: 'Path traversal in config loader',
    from: { name: 'Rita Reporter', address: 'rita@example.org' },
    headers: new Map(),
    encrypted: true,
    decryptedWith: 'AAAABBBBCCCCDDDDEEEEFFFF0000111122223333',
    signature: { state: 'verified', fingerprint: '1111222233334444555566667777888899990000', keySource: 'known' },
    text: 'Steps:\n1. run it\n2. see /etc/passwd\n',
    attachments: [{
      filename: 'poc.py',
      contentType: 'text/x-python',
      size: 24,
      sha256: 'ab'.repeat(32),
      content: Buffer.from('ATTACHMENT-CONTENT-SECRET')
    }],
    ...over
  }
}

const schemas = JSON.parse(readFileSync(new URL('../fixtures/github-schemas.json', import.meta.url), 'utf8'))
const validateCreate = new Ajv({ strict: true, allErrors: true }).compile(schemas.operations.createRepositoryAdvisory.requestBody)

t.test('description: marker first, metadata table, attachments without content, text in a fence', async (t) => {
  const { summary, description } = renderAdvisory(report(), meta)
  t.equal(summary, 'Path traversal in config loader')
  t.ok(description.startsWith(intakeMarker(meta.intakeId) + '\n'), 'marker is the first line')
  t.match(description, '| Intake id | ` in_01HZX3 ` |')
  t.match(description, '| Received at | ` 2026-11-28T10:00:00.000Z ` |')
  t.match(description, '| Inbound provider | ` raw ` |')
  t.match(description, '` Rita Reporter <rita@example.org> `')
  t.match(description, 'yes, decrypted with team key ` AAAABBBBCCCCDDDDEEEEFFFF0000111122223333 `')
  t.match(description, 'valid, by known key ` 1111222233334444555566667777888899990000 `')
  t.match(description, `| 1 | \` poc.py \` | \` text/x-python \` | 24 | \` ${'ab'.repeat(32)} \` |`)
  t.notMatch(description, 'ATTACHMENT-CONTENT-SECRET', 'attachment content is never included')
  t.match(description, '```text\nSteps:\n1. run it\n2. see /etc/passwd\n```\n')
  t.notMatch(description, '[truncated')
})

t.test('signature and encryption states', async (t) => {
  const cell = (r: OpenedReport): string => renderAdvisory(r, meta).description
  t.match(cell(report({ encrypted: false, decryptedWith: undefined, signature: { state: 'unsigned' } })), /\| Encrypted \| no \|[\s\S]*\| Signature \| unsigned \|/)
  t.match(cell(report({ signature: { state: 'no-key', keyIds: ['0123456789ABCDEF'] } })), 'signed, key not available: key ids ` 0123456789ABCDEF `')
  t.match(cell(report({ signature: { state: 'bad', keyIds: ['0123456789ABCDEF'], reason: 'digest mismatch' } })), '**BAD signature**, key ids ` 0123456789ABCDEF `: ` digest mismatch `')
  t.match(cell(report({ signature: { state: 'verified', fingerprint: 'F'.repeat(40), keySource: 'autocrypt' } })), 'taken from the message (autocrypt): not an identity proof')
})

t.test('summary: one line, no controls, capped, fallback', async (t) => {
  t.equal(renderSummary('  RCE\r\n in\tparser\u0000\u202E  ', 'x'), 'RCE in parser')
  t.equal(renderSummary('', 'in_1'), 'Vulnerability report in_1')
  t.equal(renderSummary(' \r\n\u0007 ', 'in_1'), 'Vulnerability report in_1')
  const long = renderSummary('😀'.repeat(1000), 'x')
  t.ok(long.length <= 1024, 'at most 1024 UTF-16 units')
  t.notOk(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(long), 'no lone surrogate at the cut')
})

t.test('summary neutralises mentions and cross-repository references, keeps #123', async (t) => {
  const s = renderSummary('cc @alice @stacklok/security see stacklok/toolhive#12 and #34, a@b.example', 'x')
  t.notOk(/@[A-Za-z0-9]/.test(s), 'no @ directly followed by a login character')
  t.notOk(/\/[\w.-]+#\d/.test(s), 'no owner/repo#N')
  t.match(s, ' #34', 'a lone #N is left as written')
  t.equal(s.replace(/\u200D/g, ''), 'cc @alice @stacklok/security see stacklok/toolhive#12 and #34, a@b.example', 'visible text unchanged')
})

t.test('fence is longer than any backtick/tilde run; picks the shorter kind', async (t) => {
  const onlyTicks = renderAdvisory(report({ text: 'a\n``````\nb\n' }), meta).description
  t.match(onlyTicks, '~~~text\na\n``````\nb\n~~~\n', 'tilde fence when the text only has backticks')
  const both = renderAdvisory(report({ text: 'x ```` y ~~~~~~ z' }), meta).description
  t.match(both, '`````text\nx ```` y ~~~~~~ z\n`````\n', 'five backticks beat a four-run')
})

t.test('long text is truncated with a note and the total stays within the limit', async (t) => {
  const text = 'A'.repeat(100_000)
  const { description } = renderAdvisory(report({ text }), meta)
  t.ok(description.length <= limits.descriptionChars, `length ${description.length}`)
  const m = /\[truncated: (\d+) of 100000 characters shown; full text in the sealed intake in_01HZX3\]/.exec(description)
  t.ok(m, 'truncation note present')
  const shown = Number(m?.[1])
  t.ok(shown > 60_000 && shown < 65_535, `shows most of the budget (${shown})`)
  t.ok(description.includes('A'.repeat(shown) + '\n```\n'), 'the shown prefix is closed by the fence')
})

t.test('truncation counts code points and never splits a surrogate pair', async (t) => {
  const text = '😀'.repeat(40_000)
  const { description } = renderAdvisory(report({ text }), meta)
  t.ok(description.length <= limits.descriptionChars)
  t.match(description, /of 40000 characters shown/)
  t.notOk(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(description), 'no lone surrogates')
})

t.test('worst case: many hostile attachments and a huge hostile text stay within the limit', async (t) => {
  const attachments = Array.from({ length: 300 }, (_, i) => ({
    filename: '|`@x<!--'.repeat(100) + i,
    contentType: '|'.repeat(500),
    size: i,
    sha256: '|'.repeat(100),
    content: Buffer.alloc(0)
  }))
  const text = '<!-- intake-id: x -->|`~'.repeat(20_000)
  const body = buildCreateBody(report({ attachments, text, subject: '|'.repeat(5000) }), meta)
  t.ok(body.description.length <= limits.descriptionChars, `length ${body.description.length}`)
  t.ok(body.summary.length <= 1024)
  t.match(body.description, '250 more attachments are not listed.')
  t.ok(validateCreate(body), JSON.stringify(validateCreate.errors))
})

t.test('empty text is said so, not an empty fence', async (t) => {
  t.match(renderAdvisory(report({ text: '  \n' }), meta).description, '*(no text part)*')
})

t.test('buildCreateBody: valid against GitHub\'s schema, never severity null', async (t) => {
  const body = buildCreateBody(report(), meta)
  t.same(body.vulnerabilities, [{ package: { ecosystem: 'other', name: null } }])
  t.notOk('severity' in body, 'no severity key at all')
  t.notOk('cvss_vector_string' in body)
  t.ok(validateCreate(body), JSON.stringify(validateCreate.errors))
  t.equal(buildCreateBody(report(), meta, { severity: 'high' }).severity, 'high')
  const both = buildCreateBody(report(), meta, { severity: 'high', cvssVectorString: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:L' })
  t.notOk('severity' in both, 'a CVSS vector wins over severity (GitHub refuses both)')
  t.ok(validateCreate(both))
})

t.test('a backtick run past the cut does not lengthen the fence', async (t) => {
  const text = 'x'.repeat(70_000) + '`'.repeat(5000) + '~'.repeat(5000)
  const { description } = renderAdvisory(report({ text }), meta)
  t.match(description, /\n```text\n/)
  t.ok(description.length <= limits.descriptionChars)
})

t.test('a 32 MB text renders quickly (only the shown part is processed)', async (t) => {
  const text = 'line with <!-- and intake-id and `ticks`\r\n'.repeat(800_000)
  const start = performance.now()
  const { description } = renderAdvisory(report({ text }), meta)
  const ms = performance.now() - start
  t.ok(ms < 2000, `${Math.round(ms)} ms`)
  t.ok(description.length <= limits.descriptionChars)
  t.match(description, /\[truncated: \d+ of 33600000 characters shown/)
})
