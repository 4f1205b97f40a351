import t from 'tap'
import { parseMime } from '../../src/mail/parse.js'
import { attachmentPart, inlineBody, message, multipart, textPart } from '../helpers/gpg.js'

t.test('parseMime', async (t) => {
  const raw = message({ subject: '=?utf-8?q?Caf=C3=A9?=', messageId: 'm1@example.net', headers: { 'Reply-To': 'Other <other@example.net>', 'In-Reply-To': '<m0@example.net>', References: '<a@x> <b@x>' } },
    multipart('mixed', [textPart('Hello'), attachmentPart({ filename: 'log.bin', content: Buffer.from([0, 1, 2]) })]))
  const parsed = await parseMime(raw)
  t.equal(parsed.subject, 'Café')
  t.equal(parsed.headers.get('subject'), '=?utf-8?q?Caf=C3=A9?=', 'headers keep the raw value')
  t.same(parsed.from, { address: 'reporter@example.net', name: 'Reporter' })
  t.same(parsed.replyTo, { address: 'other@example.net', name: 'Other' })
  t.equal(parsed.messageId, '<m1@example.net>')
  t.equal(parsed.inReplyTo, '<m0@example.net>')
  t.same(parsed.references, ['<a@x>', '<b@x>'])
  t.ok(parsed.date instanceof Date)
  t.equal(parsed.text?.trim(), 'Hello')
  t.equal(parsed.textFromHtml, false)
  t.equal(parsed.contentType.type, 'multipart/mixed')
  t.same(parsed.attachments.map((a) => [a.filename, a.size]), [['log.bin', 3]])
  t.equal(parsed.partCount, 3)
  const headersOnly = await parseMime(raw, { headersOnly: true })
  t.equal(headersOnly.subject, 'Café')
  t.same(headersOnly.attachments, [])
})

t.test('HTML-only mail: text derived from HTML, and flagged', async (t) => {
  const parsed = await parseMime(message({}, inlineBody('<p>Hello <b>there</b></p>', '8bit', 'text/html; charset=utf-8')))
  t.equal(parsed.textFromHtml, true)
  t.match(parsed.text, /Hello there/i)
  t.match(parsed.html, '<b>there</b>')
})

t.test('limits', async (t) => {
  const many = message({}, multipart('mixed', Array.from({ length: 5 }, () => textPart('x'))))
  await t.rejects(parseMime(many, { maxParts: 5 }), { code: 'too-large' })
  t.equal((await parseMime(many, { maxParts: 6 })).partCount, 6)
})
