// The key-request rule, case by case: what gets only the key, what is filed and also
// gets the key, and what is an ordinary report.
import t from 'tap'
import { classifyKeyMail, ownText } from '../../src/keys/key-request.js'

function mail (opts: { subject?: string, text?: string, to?: string, encrypted?: boolean, attachments?: number, inReplyTo?: string }) {
  const headers = new Map<string, string>([['to', opts.to ?? 'security@example.org']])
  if (opts.inReplyTo !== undefined) headers.set('in-reply-to', opts.inReplyTo)
  return {
    headers,
    subject: opts.subject ?? '',
    text: opts.text ?? '',
    encrypted: opts.encrypted ?? false,
    attachments: Array.from({ length: opts.attachments ?? 0 }, () => ({ filename: 'x', contentType: 'text/plain', size: 1, sha256: '', content: Buffer.alloc(1) }))
  }
}

const classify = (m: ReturnType<typeof mail>) => classifyKeyMail(m, 'security@example.org', 'example.org')

t.test('key requests', async (t) => {
  t.equal(classify(mail({ subject: 'PGP key?', text: 'Hi, can I have your PGP key before I report something?' })), 'request')
  t.equal(classify(mail({ subject: 'Request', text: 'Please send your GPG key.\n\n-- \nAlice, CVE hunter' })), 'request', 'the signature is not read')
  t.equal(classify(mail({ subject: 'hello', text: 'What is your OpenPGP key?' })), 'request')
  t.equal(classify(mail({ subject: 'Encryption key', text: '' })), 'request')
  t.equal(classify(mail({ text: 'I want to report a vulnerability. Please share your public key.' })), 'request', 'saying that a report will follow is not a report')
  t.equal(classify(mail({ to: 'Security <security+key@example.org>', subject: 'x', text: 'x' })), 'request', '+key sub-address')
  t.equal(classify(mail({ to: 'SECURITY+KEY@EXAMPLE.ORG', text: '' })), 'request')
})

t.test('when unsure, a report (and the key too when it was sent in the clear)', async (t) => {
  t.equal(classify(mail({ text: 'Your encryption key is leaked in the repo config.' })), 'report-and-key')
  // Findings about a key, in few words and none of the classic report vocabulary.
  t.equal(classify(mail({ subject: 'Android app', text: 'Your Android app ships its encryption key hard-coded; anyone can decrypt user backups.' })), 'report-and-key', 'a hard-coded key')
  t.equal(classify(mail({ text: 'The GPG key of your release bot is exposed at /static/bot.asc, with its private key.' })), 'report-and-key', 'an exposed key')
  t.equal(classify(mail({ text: 'Your API returns the public key and the user password in plaintext.' })), 'report-and-key', 'plaintext')
  t.equal(classify(mail({ subject: 'public key', text: 'PoC attached' , attachments: 1 })), 'report-and-key')
  t.equal(classify(mail({ text: `Send your public key please. ${'details '.repeat(100)}` })), 'report-and-key', 'long text')
  t.equal(classify(mail({ subject: 'XSS in login', text: 'Send me your PGP key and I send the payload.' })), 'report-and-key')
  t.equal(classify(mail({ to: 'security+key@example.org', text: 'CVE-2026-1234 applies to you' })), 'report-and-key')
  t.equal(classify(mail({ text: 'thanks for the public key, here is more', inReplyTo: '<key.abc@example.org>' })), 'report-and-key', 'a reply to our key reply')
  t.equal(classify(mail({ text: 'and your public key?', inReplyTo: '<ack.LOCAL-1@example.org>' })), 'report-and-key', 'a follow-up to our acknowledgement')
  t.equal(classify(mail({ text: 'and your public key?', inReplyTo: '<ack.LOCAL-1@elsewhere.example>' })), 'request', 'someone else\'s thread')
  t.equal(classify(mail({ text: 'please send your public key', encrypted: true })), 'report', 'encrypted: they have the key')
  t.equal(classify(mail({ subject: 'Bug', text: 'The parser crashes on empty input.' })), 'report', 'no key words')
  t.equal(classify(mail({ text: '> could you send your public key?\nNo thanks, here is the bug.' })), 'report', 'quoted words do not count')
})

t.test('ownText drops quotes, attribution and signature', async (t) => {
  t.equal(ownText('mine\nOn Mon, 1 Jan 2026, Bob wrote:\n> theirs\n-- \nsig'), 'mine')
})
