// Message templates: plain-text files the team edits, with {{placeholders}} checked at
// load, reflowed to 72 columns, overridable per file through TEMPLATES_DIR.
import t from 'tap'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { simpleParser } from 'mailparser'
import { loadTemplates, reflow, templatePlaceholders, TemplateError, type TemplateName } from '../../src/mail/templates.js'
import { acknowledgement, publishedNotice } from '../../src/mail/messages.js'
import { startGateway } from '../helpers/gateway.js'
import { plainMessage } from '../helpers/messages.js'

const values = {
  intakeId: 'in_abc', ghsaId: 'GHSA-2345-6789-cfgh', cveId: 'CVE-2026-1234', fingerprint: '0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567',
  keyUrl: 'https://intake.example.org/pgp-key.asc', publicUrl: 'https://intake.example.org',
  advisoryUrl: 'https://github.com/StacklokLabs/some-long-repository-name/security/advisories/GHSA-2345-6789-cfgh',
  fingerprintHex: '0123456789ABCDEF0123456789ABCDEF01234567', securityTxtUrl: 'https://intake.example.org/.well-known/security.txt',
  securityEmail: 'security@example.org', keyserver: 'hkps://intake.example.org', warning: '',
  repository: 'acme/widget', step: 'form the Fix Team', due: '2026-11-29T10:00:00Z', state: 'draft', publishedAt: '2026-12-01T16:00:00Z',
  releaseDay: 'Tuesday 2026-12-01 16:00 UTC'
}

t.test('every built-in template renders within 72 columns (indented lines kept whole), with a subject', async (t) => {
  const templates = loadTemplates()
  for (const name of Object.keys(templatePlaceholders) as TemplateName[]) {
    const { subject, text } = templates.render(name, values as never)
    t.ok(subject !== undefined && subject.length > 0, `${name}: subject`)
    t.notMatch(text, /\{\{/, `${name}: every placeholder filled`)
    for (const line of text.split('\n')) {
      // Indented lines (URLs, commands with a fingerprint) are kept whole, within RFC 5322's 998.
      const max = /^\s/.test(line) ? 200 : 72
      t.ok([...line].length <= max, `${name}: "${line}" is ${[...line].length} columns`)
    }
  }
})

t.test('the acknowledgement names the ids and the SECURITY.md timelines; the published notice the GHSA and CVE', async (t) => {
  const templates = loadTemplates()
  const ack = templates.render('acknowledgement', values)
  t.match(ack.text, 'GHSA-2345-6789-cfgh')
  t.match(ack.text, 'in_abc')
  t.match(ack.text, /24 hours/)
  t.match(ack.text, /1-7 days/)
  t.match(ack.text, /1-21 days/)
  t.match(ack.text, /as\s+soon\s+as\s+possible/)
  const published = templates.render('published', values)
  t.match(published.text, 'GHSA-2345-6789-cfgh')
  t.match(published.text, 'CVE-2026-1234')
  t.match(published.text, values.advisoryUrl)
})

t.test('TEMPLATES_DIR overrides file by file; mistakes fail at load with the file named', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'templates-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  await writeFile(join(dir, 'acknowledgement.txt'), 'Subject: Danke [{{intakeId}}]\n\nGrüße! Your report {{ghsaId}} is filed and this paragraph is long enough to be wrapped by the renderer at seventy-two columns.\n\n  Key: {{keyUrl}}\n\n-- \nThe team\n')
  const templates = loadTemplates(dir)
  const ack = templates.render('acknowledgement', values)
  t.equal(ack.subject, 'Danke [in_abc]')
  t.match(ack.text, /^Grüße! Your report GHSA-2345-6789-cfgh is filed/)
  t.ok(ack.text.split('\n').every((l) => [...l].length <= 72), 'reflowed')
  t.match(ack.text, /\n {2}Key: https:\/\/intake\.example\.org\/pgp-key\.asc\n/, 'indented line kept')
  t.match(ack.text, /\n-- \nThe team\n$/, 'signature separator kept with its space')
  t.match(templates.render('could-not-decrypt', values).text, /could not\s+decrypt/, 'others fall back to the built-in files')

  await writeFile(join(dir, 'published.txt'), 'Hello {{reportText}}\n')
  t.throws(() => loadTemplates(dir), TemplateError)
  t.throws(() => loadTemplates(dir), /published\.txt: unknown placeholder \{\{reportText\}\}/)
  await writeFile(join(dir, 'published.txt'), 'Bcc: victim@example.com\n\nHello\n')
  t.throws(() => loadTemplates(dir), /unknown header "Bcc"/)
})

t.test('values cannot add lines or headers', async (t) => {
  const rendered = loadTemplates().render('reminder', { ...values, repository: 'acme/widget\r\nBcc: x@example.com', step: 'a\nb' })
  t.notMatch(rendered.text, /\nBcc:/)
  t.notMatch(rendered.subject ?? '', /[\r\n]/)
})

t.test('reflow: paragraphs, bullets with a hanging indent, indented blocks', async (t) => {
  const out = reflow(`${'word '.repeat(30)}\n\n- ${'bullet '.repeat(20)}\n- short\n\n  keep   this   as is`)
  const lines = out.split('\n')
  t.ok(lines.every((l) => l.length <= 72))
  t.match(out, /\n- bullet bullet/)
  t.match(out, /\n {2}bullet/)
  t.match(out, /\n- short\n/)
  t.match(out, / {2}keep {3}this {3}as is\n$/)
})

t.test('built messages are UTF-8 text/plain and go through the worker with TEMPLATES_DIR', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'templates-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  await writeFile(join(dir, 'acknowledgement.txt'), 'Grüße from the custom template: {{ghsaId}}.\n')
  const gw = await startGateway(t, { TEMPLATES_DIR: dir })
  await gw.post(plainMessage({ from: 'rep@example.net', messageId: 'tpl-1@example.net' }))
  await gw.waitFor(() => gw.outbox('mail').length === 1, 'ack in the outbox')
  const raw = await readFile(join(gw.dir, 'outbox', 'mail', gw.outbox('mail')[0]!))
  t.match(raw.toString('latin1'), /Content-Type: text\/plain; charset=utf-8/i)
  const parsed = await simpleParser(raw)
  t.match(parsed.text ?? '', /Grüße from the custom template: LOCAL-/)

  const report = { headers: new Map<string, string>(), from: { address: 'r@example.net' }, references: [], subject: '' }
  const m = acknowledgement({ report, intakeId: 'x', advisory: { ghsaId: 'GHSA-2345-6789-cfgh' }, from: 'security@example.org', publicUrl: 'https://e.org', teamFingerprint: '00', templates: loadTemplates(dir) })
  t.match(m.text, 'Grüße')
  const n = publishedNotice({ report, intakeId: 'x', advisory: { ghsaId: 'GHSA-2345-6789-cfgh', htmlUrl: 'javascript:alert(1)', cveId: null }, from: 'security@example.org', publicUrl: 'https://e.org' })
  t.match(n.text, /CVE: +none assigned/)
  t.notMatch(n.text, 'javascript:', 'only http(s) links')
})
