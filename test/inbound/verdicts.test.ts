import t from 'tap'
import { mergeVerdicts } from '../../src/inbound/message.js'
import { verdictsFromHeaders } from '../../src/inbound/verdict-headers.js'
import { sendgridVerdicts } from '../../src/inbound/sendgrid.js'
import { checkMimeShape } from '../../src/inbound/mime-shape.js'
import { recipientFilter } from '../../src/inbound/recipients.js'
import { plainMessage } from '../helpers/messages.js'
import { message, multipart, pgpMimeEncrypted, pgpMimeSigned, textPart, attachmentPart } from '../helpers/gpg.js'

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

t.test('SendGrid fields', async (t) => {
  t.same(sendgridVerdicts('pass', '{@example.com : pass, @list.example : fail}', '3.1'), { spf: 'pass', dkim: 'pass', spamScore: 3.1 })
  t.same(sendgridVerdicts(undefined, '{@example.com : fail}', 'x'), { dkim: 'fail' })
})

t.test('MIME shape: real client messages pass, hostile shapes do not', async (t) => {
  const inner = multipart('mixed', [textPart('hi'), attachmentPart({ filename: 'a.txt', content: 'x' })])
  t.equal(checkMimeShape(message({}, pgpMimeSigned(inner, '-----BEGIN PGP SIGNATURE-----\r\n...\r\n-----END PGP SIGNATURE-----'))), undefined)
  t.equal(checkMimeShape(message({}, pgpMimeEncrypted('-----BEGIN PGP MESSAGE-----\r\n...\r\n-----END PGP MESSAGE-----'))), undefined)
  t.equal(checkMimeShape(plainMessage()), undefined)
  // Quoted boundary, folded Content-Type, preamble and epilogue.
  t.equal(checkMimeShape(Buffer.from('From: a@b.example\r\nContent-Type: multipart/mixed;\r\n boundary="=_q 1"\r\n\r\npreamble\r\n--=_q 1\r\n\r\none\r\n--=_q 1--\r\nepilogue\r\n')), undefined)
  let deep = 'x\r\n'
  for (let i = 8; i > 0; i--) deep = `Content-Type: multipart/mixed; boundary=d${i}\r\n\r\n--d${i}\r\n${deep}--d${i}--\r\n`
  t.equal(checkMimeShape(Buffer.from(`From: a@b.example\r\n${deep}`)), undefined, 'nesting 8 is the worker\'s limit: allowed')
  t.same(checkMimeShape(Buffer.from(`From: a@b.example\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\n${deep}--o--\r\n`)), { status: 400, error: 'MIME nesting too deep' })
  // Siblings close and reopen: depth is not the number of multiparts seen.
  const siblings = Array.from({ length: 20 }, (_, i) => `--o\r\nContent-Type: multipart/alternative; boundary=s${i}\r\n\r\n--s${i}\r\n\r\nx\r\n--s${i}--\r\n`).join('')
  t.equal(checkMimeShape(Buffer.from(`From: a@b.example\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n${siblings}--o--\r\n`)), undefined)
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
