import t from 'tap'
import { automatedMessage, mayAutoReply } from '../../src/mail/auto-reply-policy.js'

const person = { address: 'rita@example.org', name: 'Rita' }

function decide (headers: Record<string, string>, from: { address: string } | null = person, envelopeFrom?: string) {
  return mayAutoReply({ headers: new Map(Object.entries(headers)), ...(from ? { from } : {}) }, envelopeFrom)
}

t.test('an ordinary message from a person may be answered', async (t) => {
  t.same(decide({ subject: 'bug', 'return-path': '<rita@example.org>' }), { ok: true })
  t.same(decide({ 'auto-submitted': 'no' }), { ok: true })
  t.same(decide({ 'auto-submitted': ' No (explicitly human)' }), { ok: true })
  t.same(decide({ precedence: 'first-class' }), { ok: true })
  t.same(decide({ 'x-auto-response-suppress': 'OOF, DR' }), { ok: true })
  t.same(decide({}, person, 'rita@example.org'), { ok: true })
  t.same(decide({}, { address: 'requests@example.org' }), { ok: true }, '"request" without the dash is a person')
})

t.test('Auto-Submitted other than "no", in any case and with parameters', async (t) => {
  for (const value of ['auto-replied', 'Auto-Generated', 'AUTO-NOTIFIED; owner-email="x@y"', 'auto-replied (vacation)', 'yes', '']) {
    t.same(decide({ 'auto-submitted': value }), { ok: false, reason: 'auto-submitted' }, JSON.stringify(value))
  }
})

t.test('header names are matched case-insensitively even if the map was not lower-cased', async (t) => {
  t.same(decide({ 'Auto-Submitted': 'auto-replied' }), { ok: false, reason: 'auto-submitted' })
  t.same(decide({ 'List-Id': '<x.example.org>' }), { ok: false, reason: 'list-header' })
})

t.test('X-Auto-Response-Suppress All / AutoReply', async (t) => {
  for (const value of ['All', 'all', 'DR, AutoReply', 'OOF,AUTOREPLY']) {
    t.same(decide({ 'x-auto-response-suppress': value }), { ok: false, reason: 'x-auto-response-suppress' }, value)
  }
})

t.test('empty return path: Return-Path <> or an empty envelope sender', async (t) => {
  t.same(decide({ 'return-path': '<>' }), { ok: false, reason: 'empty-return-path' })
  t.same(decide({ 'return-path': ' < > ' }), { ok: false, reason: 'empty-return-path' })
  t.same(decide({}, person, ''), { ok: false, reason: 'empty-return-path' })
  t.same(decide({}, person, '<>'), { ok: false, reason: 'empty-return-path' })
})

t.test('MAILER-DAEMON, owner-*, *-request senders', async (t) => {
  t.same(decide({}, { address: 'MAILER-DAEMON@mx.example.org' }), { ok: false, reason: 'mailer-daemon' })
  t.same(decide({}, { address: 'Mailer-Daemon@mx.example.org' }), { ok: false, reason: 'mailer-daemon' })
  t.same(decide({}, { address: 'owner-announce@lists.example.org' }), { ok: false, reason: 'list-owner' })
  t.same(decide({}, { address: 'announce-request@lists.example.org' }), { ok: false, reason: 'list-request' })
  t.same(decide({}, person, 'owner-sec@lists.example.org'), { ok: false, reason: 'list-owner' }, 'envelope sender')
  t.same(decide({ 'return-path': '<MAILER-DAEMON@example.org>' }), { ok: false, reason: 'mailer-daemon' }, 'Return-Path')
  t.same(decide({ 'reply-to': 'List <dev-request@lists.example.org>' }), { ok: false, reason: 'list-request' }, 'Reply-To, where the reply would go')
})

t.test('any List-* header', async (t) => {
  for (const name of ['list-id', 'list-unsubscribe', 'list-post', 'list-help', 'list-archive']) {
    t.same(decide({ [name]: '<x>' }), { ok: false, reason: 'list-header' }, name)
  }
})

t.test('Precedence bulk, junk, list', async (t) => {
  for (const value of ['bulk', 'Junk', ' LIST ']) {
    t.same(decide({ precedence: value }), { ok: false, reason: 'precedence' }, value)
  }
})

t.test('delivery and disposition reports', async (t) => {
  t.same(decide({ 'content-type': 'multipart/report; report-type=delivery-status; boundary="x"' }), { ok: false, reason: 'delivery-report' })
  t.same(decide({ 'content-type': 'Multipart/Report;report-type=disposition-notification' }), { ok: false, reason: 'delivery-report' })
  t.same(decide({ 'content-type': 'multipart/mixed; boundary="report"' }), { ok: true })
})

t.test('vacation responders without Auto-Submitted', async (t) => {
  t.same(decide({ 'x-autoreply': 'yes' }), { ok: false, reason: 'auto-responder' })
  t.same(decide({ 'x-autorespond': 'x' }), { ok: false, reason: 'auto-responder' })
})

t.test('missing From', async (t) => {
  t.same(decide({}, null), { ok: false, reason: 'no-from' })
  t.same(decide({}, { address: '' }), { ok: false, reason: 'no-from' })
})

t.test('reasons are fixed strings, never header content', async (t) => {
  const d = decide({ 'list-evil-<script>': 'x', 'auto-submitted': 'secret words' })
  t.equal(d.ok, false)
  if (!d.ok) t.match(d.reason, /^[a-z-]+$/)
})

// Issue 15 finding 6: bounces that are not RFC 3464 reports opened advisories.
function automated (headers: Record<string, string>, from: string | undefined, subject = '') {
  return automatedMessage({ headers: new Map(Object.entries(headers)), subject, ...(from !== undefined ? { from: { address: from } } : {}) }, ['security@stacklok.com'])
}

t.test('plain-text bounces and auto-replies are automated mail', async (t) => {
  t.equal(automated({}, 'MAILER-DAEMON@mx.example.org', 'Failure Notice'), 'bounce from MAILER-DAEMON')
  t.equal(automated({}, 'mailer-daemon@googlemail.com', 'anything at all'), 'bounce from MAILER-DAEMON', 'MAILER-DAEMON is never a person')
  t.equal(automated({}, '"MAILER-DAEMON"@mx.example.org'), 'bounce from MAILER-DAEMON')
  t.equal(automated({}, 'postmaster@mx.example.org', 'Undelivered Mail Returned to Sender'), 'bounce from postmaster')
  t.equal(automated({ 'return-path': '<>' }, 'mail@mx.example.org', 'Delivery Status Notification (Failure)'), 'bounce with a null return path')
  t.equal(automated({ 'auto-submitted': 'auto-generated' }, 'noreply@mx.example.org', '  FAILURE   notice  '), 'auto-submitted bounce')
  t.equal(automated({ 'auto-submitted': 'auto-replied' }, 'ada@example.net', 'Out of office'), 'auto-replied')
  t.equal(automated({ 'Auto-Submitted': 'Auto-Replied (vacation)' }, 'ada@example.net'), 'auto-replied')
  t.equal(automated({ 'content-type': 'multipart/report; report-type=delivery-status' }, 'ada@example.net'), 'delivery-report', 'RFC 3464 as before')
})

t.test('no false positives: reports that look like bounces in part are still reports', async (t) => {
  t.equal(automated({}, 'rita@example.org', 'Failure Notice'), undefined, 'a bounce subject from a person, with no second sign')
  t.equal(automated({}, 'postmaster@example.org', 'Fwd: Undelivered Mail Returned to Sender'), undefined, 'a postmaster forwarding a bounce to us')
  t.equal(automated({}, 'postmaster@example.org', 'Vulnerability in toolhive (forwarded report)'), undefined, 'a postmaster forwarding a report')
  t.equal(automated({ 'auto-submitted': 'auto-generated' }, 'notifications@hackerone.example', 'New report: RCE'), undefined, 'a platform\'s auto-generated notice carries a report')
  t.equal(automated({ 'auto-submitted': 'no' }, 'rita@example.org', 'Mail delivery failed to stop my exploit'), undefined)
  t.equal(automated({}, 'rita@example.org', 'RCE: Undelivered Mail Returned to Sender page reflects input'), undefined, 'the words anywhere but the start')
  t.equal(automated({}, undefined, 'Failure Notice'), undefined, 'no sender and nothing else')
  t.equal(automated({}, 'daemon@example.org'), undefined)
})
