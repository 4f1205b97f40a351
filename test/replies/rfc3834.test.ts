// RFC 3834 through the whole gateway: the report is filed, but no automatic reply goes
// to automatic senders, lists, bounce handlers or bulk mail; quarantined machinery mail
// gets none either. A normal report (Auto-Submitted: no) is answered.
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'
import { plainMessage } from '../helpers/messages.js'

t.test('no automatic reply where RFC 3834 forbids one', async (t) => {
  const smtp = await startSmtpSink()
  t.teardown(smtp.close)
  const gw = await startGateway(t, { SMTP_URL: smtp.url })
  // Auto-replies and MAILER-DAEMON mail are machinery (issue 15 finding 6): quarantined, not filed.
  const cases: Array<{ name: string, from: string, headers?: Record<string, string>, reply: boolean, automated?: boolean }> = [
    { name: 'Auto-Submitted: no', from: 'human@example.net', headers: { 'Auto-Submitted': 'no' }, reply: true },
    { name: 'Auto-Submitted: auto-replied', from: 'a1@example.net', headers: { 'Auto-Submitted': 'auto-replied' }, reply: false, automated: true },
    { name: 'Auto-Submitted: auto-generated', from: 'a2@example.net', headers: { 'Auto-Submitted': 'auto-generated' }, reply: false },
    { name: 'empty return path', from: 'a3@example.net', headers: { 'Return-Path': '<>' }, reply: false },
    { name: 'MAILER-DAEMON', from: 'MAILER-DAEMON@example.net', reply: false, automated: true },
    { name: 'owner-*', from: 'owner-list@example.net', reply: false },
    { name: '*-request', from: 'list-request@example.net', reply: false },
    { name: 'List-Id', from: 'a4@example.net', headers: { 'List-Id': '<dev.example.net>' }, reply: false },
    { name: 'List-Unsubscribe', from: 'a5@example.net', headers: { 'List-Unsubscribe': '<mailto:u@example.net>' }, reply: false },
    { name: 'Precedence: bulk', from: 'a6@example.net', headers: { Precedence: 'bulk' }, reply: false },
    { name: 'Precedence: junk', from: 'a7@example.net', headers: { Precedence: 'junk' }, reply: false },
    { name: 'Precedence: list', from: 'a8@example.net', headers: { Precedence: 'list' }, reply: false }
  ]
  for (const [i, c] of cases.entries()) {
    t.equal((await gw.post(plainMessage({ from: c.from, messageId: `rfc3834-${i}@example.net`, headers: c.headers ?? {} }))).status, 200)
  }
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === cases.length, 'all processed')
  t.equal(gw.outbox('advisories').length, cases.filter((c) => c.automated !== true).length, 'every one but the machinery is filed')
  for (const c of cases) {
    const got = smtp.messages.some((m) => m.envelope.rcptTo.some((r) => r.address.toLowerCase() === c.from.toLowerCase()))
    t.equal(got, c.reply, `${c.name}: ${c.reply ? 'answered' : 'no reply'}`)
  }
  t.equal(smtp.messages.length, 1)

  // A delivery report (a bounce of one of our replies) is quarantined, never answered.
  const dsn = Buffer.from([
    'From: MAILER-DAEMON@example.net', 'To: security@stacklok.com', 'Subject: Undelivered Mail', 'Message-ID: <dsn-1@example.net>',
    'MIME-Version: 1.0', 'Content-Type: multipart/report; report-type=delivery-status; boundary="b"', '',
    '--b', 'Content-Type: text/plain', '', 'Delivery failed.', '--b', 'Content-Type: message/delivery-status', '', 'Action: failed', '--b--', ''
  ].join('\r\n'))
  await gw.post(dsn)
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === cases.length + 1, 'dsn processed')
  t.equal(smtp.messages.length, 1, 'no reply to quarantined mail')
})
