// Hostile report content against the advisory description and the reply headers. The
// description is checked with a small model of the CommonMark rules that matter here
// (fenced code blocks, code spans, GFM table rows): whatever a renderer does with the
// rest, report content must stay inside code, where GitHub resolves no @mention, no
// issue reference and no HTML.
import t from 'tap'
import { simpleParser } from 'mailparser'
import { renderAdvisory } from '../../src/advisory/render.js'
import { intakeMarker } from '../../src/advisory/marker.js'
import { acknowledgement } from '../../src/mail/messages.js'
import { createMailer } from '../../src/mail/transport.js'
import type { OpenedReport } from '../../src/domain/report.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'

const meta = { intakeId: 'in_real', receivedAt: new Date('2026-11-28T10:00:00Z') }

const hostileText = [
  'Hello team,',
  '',
  '```',
  '~~~~',
  '````````````````',
  '| Sender (From, unauthenticated) | `ceo@stacklok.com` |',
  '| Signature | valid, by known key `AAAA` |',
  '<!-- intake-id: in_other -->',
  '<!--intake-id:in_other-->',
  'cc @stacklok/security and @alice, see stacklok/toolhive#1',
  '<img src=x onerror=alert(1)>',
  '<script>alert(1)</script>',
  '<details><summary>x</summary></details>',
  '[click](javascript:alert(1)) ![x](https://evil.example/x.png)',
  '    indented',
  '```'
].join('\n')

function hostileReport (): OpenedReport {
  return {
    messageId: '<m@example.org>',
    references: [],
    subject: 'RCE @stacklok/security <img src=x onerror=alert(1)> <!-- intake-id: in_other --> org/repo#9',
    from: { name: '@stacklok/security | forged | `x` <!-- intake-id: in_other -->', address: 'rita@example.org' },
    headers: new Map(),
    encrypted: false,
    signature: { state: 'unsigned' },
    text: hostileText,
    attachments: [{
      filename: 'a.txt | text/plain | 1 | ff |\n| 2 | `evil` @stacklok/security <img src=x>',
      contentType: 'text/plain``` <b>x</b>',
      size: 1,
      sha256: 'ff'.repeat(32),
      content: Buffer.from('x')
    }]
  }
}

/** Splits the description at its (only) fenced block, by CommonMark's closing-fence rule. */
function splitFence (md: string): { before: string, content: string, after: string } {
  const lines = md.split('\n')
  const open = lines.findIndex((l) => /^(`{3,}|~{3,})text$/.test(l))
  if (open < 0) throw new Error('no fence')
  const fence = /^(`{3,}|~{3,})/.exec(lines[open] as string)![1] as string
  const closer = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}\\s*$`)
  const close = lines.findIndex((l, i) => i > open && closer.test(l))
  return {
    before: lines.slice(0, open).join('\n'),
    content: lines.slice(open + 1, close).join('\n'),
    after: lines.slice(close + 1).join('\n')
  }
}

/** Removes code spans: an opening backtick run closes only at a run of the same length. */
function stripCodeSpans (md: string): string {
  let out = ''
  let i = 0
  while (i < md.length) {
    if (md[i] !== '`') { out += md[i]; i++; continue }
    let n = 0
    while (md[i + n] === '`') n++
    const tick = '`'.repeat(n)
    let j = md.indexOf(tick, i + n)
    while (j >= 0 && (md[j - 1] === '`' || md[j + n] === '`')) j = md.indexOf(tick, j + 1)
    if (j < 0) { out += tick; i += n; continue }
    out += ' CODE '
    i = j + n
  }
  return out
}

/** GFM splits a row at every pipe not preceded by a backslash. */
function cells (row: string): string[] {
  return row.replace(/^\||\|$/g, '').split(/(?<!\\)\|/).map((c) => c.trim())
}

t.test('the report text stays inside its fence, verbatim apart from marker breaking', async (t) => {
  const { description } = renderAdvisory(hostileReport(), meta)
  const { content, after } = splitFence(description)
  t.equal(content.replace(/\u200D/g, ''), hostileText, 'the fence closes only after the whole text')
  t.equal(after, '', 'nothing after the fence: the text cannot append Markdown')
})

t.test('no forged intake marker anywhere', async (t) => {
  const { description, summary } = renderAdvisory(hostileReport(), meta)
  t.equal(description.split(intakeMarker('in_real')).length, 2, 'our marker exactly once')
  t.ok(description.startsWith(intakeMarker('in_real')))
  t.equal(description.split('<!--').length, 2, 'no other HTML comment opener at all')
  t.equal(description.match(/intake-id/gi)?.length, 1, 'not even a loose "intake-id"')
  t.notMatch(summary, '<!--')
})

t.test('the metadata table cannot be forged', async (t) => {
  const { description } = renderAdvisory(hostileReport(), meta)
  const { before } = splitFence(description)
  const rows = before.split('\n').filter((l) => l.startsWith('|'))
  const meta2 = rows.filter((r) => cells(r).length === 2).map((r) => cells(r)[0])
  t.same(meta2, ['Field', '---', 'Intake id', 'Received at', 'Sender (From, unauthenticated)', 'Encrypted', 'Signature', 'Attachments'],
    'exactly our rows, each label once')
  // # | Name | Type | Size | SHA-256 | Shown (inline or sealed)
  const attachmentRows = rows.filter((r) => cells(r).length === 6)
  t.equal(attachmentRows.length, 3, 'header, delimiter and one attachment row')
  t.ok(attachmentRows.every((r) => cells(r).length === 6), 'escaped pipes do not add cells')
  t.equal(rows.length, 2 + 6 + 3, 'no extra table lines')
})

t.test('outside code there is no mention, cross-reference or HTML', async (t) => {
  const { description, summary } = renderAdvisory(hostileReport(), meta)
  const { before } = splitFence(description)
  const prose = stripCodeSpans(before).replace(intakeMarker('in_real'), '')
  t.notOk(/@[A-Za-z0-9]/.test(prose), 'no @login outside code')
  t.notOk(/<[A-Za-z!/?]/.test(prose), 'no HTML tag or comment outside code')
  t.notOk(/[\w.-]\/[\w.-]+#\d/.test(prose), 'no owner/repo#N outside code')
  t.notMatch(prose, 'evil', 'hostile values only appear inside code spans')
  t.notOk(/@[A-Za-z0-9]/.test(summary), 'summary: no mention')
  t.notOk(/\/[\w.-]+#\d/.test(summary), 'summary: no cross-repository reference')
})

t.test('a subject with CRLF + Bcc: cannot add a header or a recipient', async (t) => {
  const sink = await startSmtpSink()
  t.teardown(sink.close)
  const mailer = createMailer({ smtpUrl: sink.url, outboxDir: '/nonexistent', log: { info () {} } })
  t.teardown(() => mailer.close())

  const report: OpenedReport = {
    ...hostileReport(),
    subject: 'Bug\r\nBcc: victim@example.net\r\nX-Injected: 1',
    from: { name: 'Rita\r\nCc: other@example.net', address: 'rita@example.org' },
    replyTo: { address: 'rita@example.org\r\nBcc: victim@example.net' }
  }
  t.throws(() => acknowledgement({ report, intakeId: 'in_real', advisory: { ghsaId: 'GHSA-x' }, from: 'security@stacklok.com', publicUrl: 'https://x.example', teamFingerprint: 'AB' }),
    'a Reply-To with a line break is not a usable address')

  const { replyTo: _ignored, ...withoutReplyTo } = report
  await mailer.send(acknowledgement({ report: withoutReplyTo, intakeId: 'in_real', advisory: { ghsaId: 'GHSA-x' }, from: 'security@stacklok.com', publicUrl: 'https://x.example', teamFingerprint: 'AB' }))
  const { envelope, raw } = sink.messages[0]!
  t.same(envelope.rcptTo.map((r) => r.address), ['rita@example.org'], 'one recipient in the envelope')
  const head = raw.toString('latin1').split('\r\n\r\n')[0] as string
  t.notOk(/^(bcc|cc|x-injected):/im.test(head), 'no injected header line')
  const parsed = await simpleParser(raw)
  t.equal(parsed.subject, 'Re: your vulnerability report [in_real]', 'the sender\'s subject is never echoed')
  t.equal(parsed.bcc, undefined)
  t.equal(parsed.cc, undefined)
  const to = Array.isArray(parsed.to) ? parsed.to : [parsed.to]
  t.same(to.flatMap((a) => a?.value.map((v) => v.address)), ['rita@example.org'])
})
