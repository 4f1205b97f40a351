// Issue 15 finding 6: bounces that are not RFC 3464 reports (qmail/Yahoo "failure
// notice", Postfix text bounces from postmaster, vacation auto-replies) go to the
// `automated` quarantine, not into advisories; a report that merely talks about
// bounces is still filed.
import t from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { plainMessage } from '../helpers/messages.js'
import { quarantineStore } from '../../src/quarantine/store.js'

const crlf = (...lines: string[]) => Buffer.from(lines.join('\r\n'))

t.test('plain-text bounces and auto-replies are quarantined automated; a report about bounces is filed', async (t) => {
  const gw = await startGateway(t, {})
  const store = quarantineStore(gw.redis, gw.prefix)
  const machinery = [
    crlf('From: MAILER-DAEMON@mx.example.org', 'To: security@stacklok.com', 'Subject: failure notice', 'Message-ID: <qmail-1@mx.example.org>', '',
      'Hi. This is the qmail-send program at mx.example.org.', 'I\'m afraid I wasn\'t able to deliver your message to the following addresses.', ''),
    crlf('Return-Path: <>', 'From: postmaster@mx.example.org', 'To: security@stacklok.com', 'Subject: Undelivered Mail Returned to Sender', 'Message-ID: <pf-1@mx.example.org>', '',
      'This is the mail system at host mx.example.org.', ''),
    plainMessage({ from: 'Ada <ada@example.net>', messageId: 'vacation-1@example.net', subject: 'Out of office', headers: { 'Auto-Submitted': 'auto-replied' } })
  ]
  const ids: string[] = []
  for (const raw of machinery) {
    const res = await gw.post(raw)
    t.equal(res.status, 200)
    ids.push(res.id as string)
  }
  const report = await gw.post(plainMessage({ messageId: 'about-bounces@example.org', subject: 'Header injection via bounce handling', body: 'Undelivered Mail Returned to Sender pages from MAILER-DAEMON reflect the Subject unescaped.' }))
  for (const id of ids) t.match(await gw.waitFor(async () => await store.get(id), `quarantine ${id}`), { code: 'automated' })
  await gw.waitFor(() => gw.outbox('advisories').length === 1 || undefined, 'the real report filed')
  t.same(gw.outbox('advisories'), [`${report.id}.json`], 'only the real report is an advisory')
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 4, 'all processed')
  t.equal(gw.outbox('mail').length, 1, 'one acknowledgement, to the reporter; none to the machinery')
})
