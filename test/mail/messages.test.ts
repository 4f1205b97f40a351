import t from 'tap'
import { acknowledgement, couldNotDecrypt, formatFingerprint, NoReplyRecipientError, teamNotification } from '../../src/mail/messages.js'
import { wrapText as wrap } from '../../src/mail/templates.js'
import type { OpenedReport } from '../../src/domain/report.js'

const FPR = '0123456789ABCDEF0123456789ABCDEF01234567'
const base = { intakeId: 'in_7Q2', from: 'Stacklok Security <security@stacklok.com>', publicUrl: 'https://intake.stacklok.com/', teamFingerprint: FPR }
const advisory = { ghsaId: 'GHSA-abcd-efgh-ijkl', htmlUrl: 'https://github.com/stacklok/toolhive/security/advisories/GHSA-abcd-efgh-ijkl' }

function report (over: Partial<OpenedReport> = {}): OpenedReport {
  return {
    messageId: '<m3@example.org>',
    references: ['<m1@example.org>', '<m2@example.org>'],
    subject: 'Token leak in proxy',
    from: { name: 'Rita Reporter', address: 'rita@example.org' },
    headers: new Map([['subject', 'Token leak in proxy']]),
    encrypted: false,
    signature: { state: 'unsigned' },
    text: 'SECRET-REPORT-TEXT: the token is logged',
    attachments: [{ filename: 'SECRET-FILENAME.txt', contentType: 'text/plain', size: 1, sha256: '00', content: Buffer.from('x') }],
    ...over
  }
}

function lineLengths (text: string): number {
  return Math.max(...text.split('\n').map((l) => [...l].length))
}

t.test('acknowledgement: recipient, threading, RFC 3834 marking, deterministic id', async (t) => {
  const m = acknowledgement({ ...base, report: report(), advisory })
  t.same(m.to, { address: 'rita@example.org' }, 'no display name: it is the sender\'s text')
  t.same(m.envelope, { from: 'security@stacklok.com', to: ['rita@example.org'] }, 'exactly one RCPT')
  t.equal(m.subject, 'Re: your vulnerability report [in_7Q2]')
  t.equal(m.inReplyTo, '<m3@example.org>')
  t.same(m.references, ['<m1@example.org>', '<m2@example.org>', '<m3@example.org>'])
  t.equal(m.headers['Auto-Submitted'], 'auto-replied')
  t.equal(m.messageId, '<ack.in_7Q2@stacklok.com>')
  t.equal(acknowledgement({ ...base, report: report(), advisory }).messageId, m.messageId, 'same id on a retry')
})

t.test('acknowledgement text: advisory id, timelines, key, no report content, no html_url', async (t) => {
  const m = acknowledgement({ ...base, report: report(), advisory })
  t.ok(lineLengths(m.text) <= 78, `longest line ${lineLengths(m.text)}`)
  t.match(m.text, 'GHSA-abcd-efgh-ijkl')
  t.match(m.text, 'in_7Q2')
  t.match(m.text, /Within 24 hours/)
  t.match(m.text, /Within 1-7 days/)
  t.match(m.text, /Within 1-21 days/)
  t.match(m.text, /publicly\s+disclosed\s+issues\s+are\s+handled\s+as\s+urgent/)
  t.match(m.text, '0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567')
  t.match(m.text, 'https://intake.stacklok.com/pgp-key.asc')
  t.notMatch(m.text, 'SECRET-REPORT-TEXT')
  t.notMatch(m.text, 'SECRET-FILENAME')
  t.notMatch(m.text, 'Token leak', 'not even the subject is quoted in the body')
  t.notMatch(m.text, 'github.com', 'the private html_url is not given to the reporter')
})

t.test('Reply-To wins over From; one recipient only', async (t) => {
  const m = acknowledgement({ ...base, report: report({ replyTo: { address: 'rita.private@example.net' } }), advisory })
  t.same(m.to, { address: 'rita.private@example.net' })
  t.same(m.envelope.to, ['rita.private@example.net'])
})

t.test('the subject never carries the sender\'s words (no spoofed-From relay through security@)', async (t) => {
  for (const subject of ['Re: Token leak', 'Your account is suspended: http://evil.example', '', 'AW: x']) {
    t.equal(acknowledgement({ ...base, report: report({ subject }), advisory }).subject, 'Re: your vulnerability report [in_7Q2]', subject)
  }
})

t.test('an encrypted report\'s protected subject is not put in a cleartext reply', async (t) => {
  const r = report({ encrypted: true, subject: 'SECRET protected subject', headers: new Map([['subject', '...']]) })
  t.notMatch(acknowledgement({ ...base, report: r, advisory }).subject, 'SECRET')
})

t.test('header values from the report lose CR/LF and control characters', async (t) => {
  const r = report({
    subject: 'Hi\r\nBcc: victim@example.com\r\n\tX-Evil: 1\u0000',
    from: { name: 'Rita\r\nBcc: victim@example.com', address: 'rita@example.org' },
    messageId: '<m3@example.org>\r\nBcc: victim@example.com',
    references: ['<ok@example.org>', '<bad\r\n@x>', 'no brackets@example.org']
  })
  const m = acknowledgement({ ...base, report: r, advisory })
  t.equal(m.subject, 'Re: your vulnerability report [in_7Q2]')
  t.equal(m.to.name, undefined)
  t.equal(m.inReplyTo, undefined, 'a Message-ID with a line break is dropped, not repaired')
  t.same(m.references, ['<ok@example.org>'], 'invalid references are dropped')
  for (const value of [m.subject, m.to.name ?? '', m.to.address, ...(m.references ?? [])]) {
    t.notOk(/[\r\n\u0000-\u001F]/.test(value))
  }
})

t.test('references: deduplicated, parent last, capped', async (t) => {
  const refs = Array.from({ length: 40 }, (_, i) => `<r${i}@example.org>`)
  const m = acknowledgement({ ...base, report: report({ references: [...refs, '<m3@example.org>', '<r5@example.org>'] }), advisory })
  t.equal(m.references?.length, 20)
  t.equal(m.references?.[0], '<r0@example.org>', 'thread root kept')
  t.equal(m.references?.at(-1), '<m3@example.org>', 'parent last')
})

t.test('no usable reply address: a clear error, no message', async (t) => {
  t.throws(() => acknowledgement({ ...base, report: report({ from: undefined }), advisory }), NoReplyRecipientError)
  t.throws(() => acknowledgement({ ...base, report: report({ from: { address: 'a@b.example, c@d.example' } }), advisory }), NoReplyRecipientError)
  t.throws(() => acknowledgement({ ...base, report: report({ from: { address: 'not-an-address' } }), advisory }), NoReplyRecipientError)
  const idn = acknowledgement({ ...base, report: report({ from: { address: 'rita@jõgeva.ee' } }), advisory })
  t.equal(idn.to.address, 'rita@xn--jgeva-dua.ee', 'IDN domains go out as A-labels')
})

t.test('couldNotDecrypt: key fingerprint and URL, no content, same threading rules', async (t) => {
  const outer = { headers: new Map([['subject', 'Encrypted Message']]), subject: 'Encrypted Message', references: [], messageId: '<enc@example.org>', from: { address: 'rita@example.org' } }
  const m = couldNotDecrypt({ ...base, report: outer })
  t.equal(m.messageId, '<undecryptable.in_7Q2@stacklok.com>')
  t.equal(m.inReplyTo, '<enc@example.org>')
  t.same(m.references, ['<enc@example.org>'])
  t.equal(m.headers['Auto-Submitted'], 'auto-replied')
  t.equal(m.subject, 'Re: your vulnerability report [in_7Q2]')
  t.match(m.text, /could not\s+decrypt/)
  t.match(m.text, '0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567')
  t.match(m.text, 'https://intake.stacklok.com/pgp-key.asc')
  t.ok(lineLengths(m.text) <= 78)
})

t.test('teamNotification: content-free, advisory link and flags', async (t) => {
  const m = teamNotification({
    intakeId: 'in_7Q2',
    advisory,
    repo: 'stacklok/toolhive',
    flags: { encrypted: true, signature: { state: 'verified', fingerprint: FPR, keySource: 'known' }, unverifiedSender: false },
    to: 'security-team@stacklok.com',
    from: base.from
  })
  t.same(m.to, { address: 'security-team@stacklok.com' })
  t.equal(m.subject, '[security intake] New report in_7Q2')
  t.equal(m.messageId, '<notify.in_7Q2@stacklok.com>')
  t.equal(m.headers['Auto-Submitted'], 'auto-generated')
  t.match(m.text, advisory.htmlUrl)
  t.match(m.text, 'stacklok/toolhive')
  t.match(m.text, /Encrypted:\s+yes/)
  t.match(m.text, /Signature:\s+valid signature/)
  t.notMatch(m.text, FPR, 'not even the signer fingerprint')
  t.ok(lineLengths(m.text) <= 78)

  const q = teamNotification({
    intakeId: 'in_8',
    flags: { encrypted: false, signature: 'unknown', unverifiedSender: true, quarantined: 'undecryptable: no configured key matches' },
    to: 'security-team@stacklok.com',
    from: base.from
  })
  t.equal(q.subject, '[security intake] Quarantined report in_8')
  t.match(q.text, 'QUARANTINED')
  t.match(q.text, 'undecryptable: no configured key matches')
  t.match(q.text, /Signature:\s+unknown/)
  t.notMatch(q.text, 'Advisory:')
  t.notMatch(q.text, 'Acknowledgement NOT sent')

  // Issue 15 finding 8: the team learns when the reporter got no acknowledgement.
  const s = teamNotification({
    intakeId: 'in_9',
    advisory,
    flags: { encrypted: false, signature: 'unsigned', unverifiedSender: false, ackSuppressed: 'hourly limit of automatic replies to unauthenticated senders reached (the rest is kept for authenticated ones)' },
    to: 'security-team@stacklok.com',
    from: base.from
  })
  t.match(s.text.replace(/\s+/g, ' '), 'Acknowledgement NOT sent to the reporter: hourly limit of automatic replies to unauthenticated senders reached')
  t.ok(lineLengths(s.text) <= 78)
})

t.test('helpers', async (t) => {
  t.same(wrap('aaa bbb ccc', 7), ['aaa bbb', 'ccc'])
  t.same(wrap('x'.repeat(10), 5), ['x'.repeat(10)], 'an over-long word stays whole')
  t.equal(formatFingerprint('0123456789abcdef0123456789abcdef01234567'), '0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567')
})
