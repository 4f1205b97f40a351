import t from 'tap'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { simpleParser } from 'mailparser'
import { createMailer, fileStem, smtpTarget } from '../../src/mail/transport.js'
import { acknowledgement, couldNotDecrypt } from '../../src/mail/messages.js'
import type { OpenedReport } from '../../src/domain/report.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'

const FPR = '0123456789ABCDEF0123456789ABCDEF01234567'
const common = { from: 'Stacklok Security <security@stacklok.com>', publicUrl: 'https://intake.example.com', teamFingerprint: FPR }

function report (over: Partial<OpenedReport> = {}): OpenedReport {
  return {
    messageId: '<m3@example.org>',
    references: ['<m1@example.org>'],
    subject: 'Token leak in proxy',
    from: { name: 'Rita Reporter', address: 'rita@example.org' },
    headers: new Map(),
    encrypted: false,
    signature: { state: 'unsigned' },
    text: 'SECRET-REPORT-TEXT',
    attachments: [],
    ...over
  }
}

function ack (intakeId = 'in_1', over: Partial<OpenedReport> = {}) {
  return acknowledgement({ ...common, intakeId, report: report(over), advisory: { ghsaId: 'GHSA-aaaa-bbbb-cccc' } })
}

function recordingLog () {
  const lines: string[] = []
  return { lines, log: { info: (obj: object, msg?: string) => { lines.push(JSON.stringify({ ...obj, msg })) } } }
}

async function tempDir (t: { teardown: (fn: () => unknown) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mail-outbox-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('smtp: acknowledgement arrives threaded, marked auto-replied, to one recipient', async (t) => {
  const sink = await startSmtpSink()
  t.teardown(sink.close)
  const { log } = recordingLog()
  const mailer = createMailer({ smtpUrl: sink.url, outboxDir: '/nonexistent', log })
  t.teardown(() => mailer.close())

  const sent = await mailer.send(ack())
  t.same(sent, { messageId: '<ack.in_1@stacklok.com>', where: 'smtp' })
  t.equal(sink.messages.length, 1)
  const { envelope, raw } = sink.messages[0]!
  t.same(envelope.rcptTo.map((r) => r.address), ['rita@example.org'], 'one RCPT')
  t.equal(envelope.mailFrom && envelope.mailFrom.address, 'security@stacklok.com')

  const parsed = await simpleParser(raw)
  t.equal(parsed.messageId, '<ack.in_1@stacklok.com>')
  t.equal(parsed.inReplyTo, '<m3@example.org>')
  t.same(parsed.references, ['<m1@example.org>', '<m3@example.org>'])
  t.equal(parsed.headers.get('auto-submitted'), 'auto-replied')
  t.match(parsed.subject, /^Re: your vulnerability report \[in_/)
  t.match(parsed.text, 'GHSA-aaaa-bbbb-cccc')
  t.notMatch(raw.toString(), 'SECRET-REPORT-TEXT')
  t.notOk(raw.toString('latin1').split('\r\n').some((l) => l.length > 998), 'no over-long lines')
})

t.test('smtp: couldNotDecrypt arrives with its own id and the same threading', async (t) => {
  const sink = await startSmtpSink()
  t.teardown(sink.close)
  const mailer = createMailer({ smtpUrl: sink.url, outboxDir: '/nonexistent', log: recordingLog().log })
  t.teardown(() => mailer.close())
  await mailer.send(couldNotDecrypt({ ...common, intakeId: 'in_2', report: report() }))
  const parsed = await simpleParser(sink.messages[0]!.raw)
  t.equal(parsed.messageId, '<undecryptable.in_2@example.com>'.replace('example.com', 'stacklok.com'))
  t.equal(parsed.inReplyTo, '<m3@example.org>')
  t.equal(parsed.headers.get('auto-submitted'), 'auto-replied')
  t.match(parsed.text, 'https://intake.example.com/pgp-key.asc')
})

t.test('smtp: credentials in the URL are used but never logged', async (t) => {
  const sink = await startSmtpSink()
  t.teardown(sink.close)
  const { lines, log } = recordingLog()
  const url = sink.url.replace('smtp://', 'smtp://mailer:hunter2-secret@')
  const mailer = createMailer({ smtpUrl: url, outboxDir: '/nonexistent', log })
  t.teardown(() => mailer.close())
  await mailer.send(ack())
  t.equal(sink.messages.length, 1)
  t.match(lines.join('\n'), '"host":"127.0.0.1"')
  t.notMatch(lines.join('\n'), 'hunter2')
})

t.test('an invalid SMTP_URL fails without echoing it', async (t) => {
  const err = t.throws(() => smtpTarget('smtp://user:hunter2@exa mple.com')) as Error
  t.notMatch(JSON.stringify(err, Object.getOwnPropertyNames(err)), 'hunter2')
  t.throws(() => smtpTarget('http://x.example'), /smtp: or smtps:/)
  t.same(smtpTarget('smtps://u:p@mail.example.com'), { host: 'mail.example.com', port: 465 })
})

t.test('outbox: one .eml per Message-ID, overwritten on retry, mode 0600', async (t) => {
  const dir = await tempDir(t)
  const { lines, log } = recordingLog()
  const mailer = createMailer({ outboxDir: dir, log })
  t.teardown(() => mailer.close())

  const first = await mailer.send(ack('in_1'))
  t.same(first, { messageId: '<ack.in_1@stacklok.com>', where: 'outbox' })
  await mailer.send(ack('in_1'))
  await mailer.send(ack('in_2'))
  const files = (await readdir(join(dir, 'mail'))).sort()
  t.same(files, ['ack.in_1@stacklok.com.eml', 'ack.in_2@stacklok.com.eml'], 'a retry overwrites; no temp files left')

  const file = join(dir, 'mail', 'ack.in_1@stacklok.com.eml')
  t.equal((await stat(file)).mode & 0o777, 0o600)
  const raw = await readFile(file)
  t.match(raw.toString(), /\r\n/, 'CRLF line ends (RFC 5322)')
  const parsed = await simpleParser(raw)
  t.equal(parsed.inReplyTo, '<m3@example.org>')
  t.equal(parsed.headers.get('auto-submitted'), 'auto-replied')
  t.match(lines.join('\n'), 'mail written to outbox')
})

t.test('outbox: a message without a Message-ID still gets a file', async (t) => {
  const dir = await tempDir(t)
  const mailer = createMailer({ outboxDir: dir, log: recordingLog().log })
  t.teardown(() => mailer.close())
  const sent = await mailer.send({ from: 'a@example.com', to: 'b@example.com', subject: 'x', text: 'y' })
  const files = await readdir(join(dir, 'mail'))
  t.equal(files.length, 1)
  t.equal(files[0], `${fileStem(sent.messageId)}.eml`)
})

t.test('fileStem: safe names, distinct for ids that sanitise alike', async (t) => {
  t.equal(fileStem('<ack.in_1@stacklok.com>'), 'ack.in_1@stacklok.com')
  const a = fileStem('<a/b@x>')
  const b = fileStem('<a_b@x>')
  t.not(a, b)
  t.match(fileStem('<../../etc/passwd@x>'), /^[A-Za-z0-9._@+-]+$/)
  t.notOk(fileStem('<../../etc/passwd@x>').startsWith('.'))
  t.match(fileStem(undefined), /^\d+-[0-9a-f]{8}$/)
})
