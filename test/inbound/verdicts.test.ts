import t from 'tap'
import { mergeVerdicts } from '../../src/domain/inbound.js'
import { verdictsFromHeaders } from '../../src/inbound/verdict-headers.js'
import { sendgridVerdicts } from '../../src/inbound/sendgrid.js'
import { MAX_HEADER_BLOCK, headerBoundary, headerTooLarge, messageId, readHeaderLines } from '../../src/inbound/message-head.js'
import { recipientFilter } from '../../src/inbound/recipients.js'
import { plainMessage } from '../helpers/messages.js'

t.test('verdicts from headers: Mailgun, SpamAssassin, Authentication-Results', async (t) => {
  const raw = plainMessage({ headers: { 'X-Mailgun-Sflag': 'Yes', 'X-Mailgun-Sscore': '7.5', 'X-Mailgun-Spf': 'Pass', 'X-Mailgun-Dkim-Check-Result': 'Fail', 'Authentication-Results': 'mx.example; spf=pass smtp.mailfrom=a.example; dkim=pass; dmarc=fail header.from=bank.example' } })
  t.same(verdictsFromHeaders(raw), { spam: true, spamScore: 7.5, spf: 'pass', dkim: 'fail', dmarc: 'fail' }, 'a fail anywhere stays a fail')
  t.same(verdictsFromHeaders(plainMessage({ headers: { 'X-Spam-Status': 'No, score=-0.2 required=5.0' } })), { spamScore: -0.2 })
})

t.test('a sender cannot talk a verdict down', async (t) => {
  // The sender writes "X-Spam-Score: -100" and "dmarc=pass"; the provider said otherwise.
  const fromSender = verdictsFromHeaders(plainMessage({ headers: { 'X-Spam-Score': '-100', 'Authentication-Results': 'x; dmarc=pass', 'X-Spam-Flag': 'NO' } }))
  t.same(mergeVerdicts(fromSender, { spam: true, spamScore: 9, dmarc: 'fail' }), { spam: true, spamScore: 9, dmarc: 'fail' })
  t.same(mergeVerdicts({ dmarc: 'fail' }, { dmarc: 'pass' }), { dmarc: 'fail' })
})

t.test('a sender-chosen address quoted in the provider\'s Authentication-Results does not hide its dmarc=fail', async (t) => {
  // "dmarc=pass" is a valid local part; the provider quotes MAIL FROM before its DMARC result.
  const raw = plainMessage({ headers: { 'Authentication-Results': 'mx.provider.example; spf=pass smtp.mailfrom=dmarc=pass@evil.example; dkim=none; dmarc=fail (p=reject) header.from=bank.example' } })
  t.equal(verdictsFromHeaders(raw).dmarc, 'fail')
})

t.test('SendGrid fields', async (t) => {
  t.same(sendgridVerdicts('pass', '{@example.com : pass, @list.example : fail}', '3.1'), { spf: 'pass', dkim: 'pass', spamScore: 3.1 })
  t.same(sendgridVerdicts(undefined, '{@example.com : fail}', 'x'), { dkim: 'fail' })
})

t.test('header reading is tolerant: odd lines skipped, no blank line, bare LF, only some fields', async (t) => {
  const odd = Buffer.from('Received: from mx\r\nX Bad Header: value\r\n continued odd\r\nFrom: a@b.example\r\nMessage-ID: <Odd@b.example>\r\nTo: security@stacklok.com\r\n\r\nbody\r\n')
  t.same(readHeaderLines(odd), ['Received: from mx', 'From: a@b.example', 'Message-ID: <Odd@b.example>', 'To: security@stacklok.com'], 'the malformed field and its continuation are skipped')
  t.equal(messageId(odd), 'odd@b.example')
  t.ok(recipientFilter(['security@stacklok.com'])(odd))
  const noBlank = Buffer.from('From: a@b.example\nTo: security@stacklok.com\nSubject: x\nHello team, the loader: reads ../\nmore: text\n')
  t.same(readHeaderLines(noBlank), ['From: a@b.example', 'To: security@stacklok.com', 'Subject: x'], 'no blank line: the header ends at the first line that cannot be header')
  t.match(headerBoundary(noBlank), { blankLine: false, bodyStart: noBlank.indexOf('Hello') })
  t.same(readHeaderLines(Buffer.from('From sender@b.example Sat Nov 28 10:00:00 2026\nSubject: only\n\nbody')), ['Subject: only'], 'mbox From line, bare LF')
  t.same(readHeaderLines(Buffer.from('hello, this is not mail')), [])
  t.same(verdictsFromHeaders(Buffer.from('X Odd: 1\r\nX-Spam-Flag: YES\r\n\r\nx')), { spam: true }, 'a verdict after an odd line is still read')
})

t.test('header block size: 413 only past the limit, whatever the shape', async (t) => {
  const pad = (n: number) => Buffer.from(`From: a@example.org\r\n${'X-Pad: ' + 'a'.repeat(1000) + '\r\n'}`.repeat(n) + '\r\nbody')
  t.notOk(headerTooLarge(pad(200)))
  t.ok(headerTooLarge(pad(379)), '379 KB of header')
  t.ok(headerTooLarge(Buffer.from('X-Long: ' + 'a'.repeat(MAX_HEADER_BLOCK))), 'one long field, no blank line')
  t.notOk(headerTooLarge(Buffer.alloc(MAX_HEADER_BLOCK + 10, 'a')), 'bytes that are no header at all: stored, the worker says not-a-message')
  t.notOk(headerTooLarge(Buffer.concat([Buffer.from('From: a@b.example\nSubject: x\nbody without a blank line\n'), Buffer.alloc(MAX_HEADER_BLOCK * 2, 'b')])), 'a large body after a missing blank line is body')
  const late = Buffer.concat([Buffer.from('From: a@b.example\nSubject: x\nbody without a blank line\n'), Buffer.alloc(MAX_HEADER_BLOCK * 2, 'b'), Buffer.from('\n\nlater paragraph\n')])
  t.notOk(headerTooLarge(late), 'a blank line deep in the body does not make the body header')
  t.match(headerBoundary(late), { blankLine: false, bodyStart: late.indexOf('body without') })
  // Linear: a megabyte of field-name bytes without a colon, and of folded lines.
  const started = process.hrtime.bigint()
  readHeaderLines(Buffer.alloc(1024 * 1024, 'a'))
  readHeaderLines(Buffer.from('X: a\n' + ' b\n'.repeat(300_000)))
  t.ok(process.hrtime.bigint() - started < 5_000_000_000n, 'no pathological case (generous bound; timing targets live in bench/)')
})

t.test('recipients: envelope, To, Cc; case-insensitive; display names and angle brackets', async (t) => {
  const ours = recipientFilter(['security@stacklok.com', 'psirt@stacklok.com'])
  const to = (line: string) => Buffer.from(`From: a@b.example\r\n${line}\r\nSubject: x\r\n\r\nbody`)
  t.ok(ours(to('To: "Security Team" <Security@Stacklok.com>')))
  t.ok(ours(to('To: sales@stacklok.com,\r\n psirt@stacklok.com')))
  t.ok(ours(to('Cc: <psirt@stacklok.com>')))
  t.ok(ours(to('To: sales@stacklok.com'), ['<SECURITY@stacklok.com>']), 'envelope (Bcc)')
  t.notOk(ours(to('To: sales@stacklok.com'), ['sales@stacklok.com']))
  t.notOk(ours(to('To: security@stacklok.com.evil.example')))
  t.notOk(ours(to('X-Original-To: security@stacklok.com')), 'only To and Cc count')
})

t.test('recipients: a +tag of an intake address is ours, a +tag of another mailbox is not', async (t) => {
  const ours = recipientFilter(['security@stacklok.com'])
  const to = (line: string) => Buffer.from(`From: a@b.example\r\n${line}\r\nSubject: x\r\n\r\nbody`)
  t.ok(ours(to('To: sales@stacklok.com'), ['Security+bounty@stacklok.com']), 'envelope')
  t.ok(ours(to('To: "Sec" <security+cve-2026@stacklok.com>')), 'header')
  t.notOk(ours(to('To: sales+security@stacklok.com')))
  t.notOk(ours(to('To: security+x@stacklok.com.evil.example')))
  t.notOk(ours(to('To: sales@stacklok.com'), ['sales+security@stacklok.com']))
})
