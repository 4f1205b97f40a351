// Issue 6, point 5: the team hears of every report by mail (encrypted to the members'
// keys when configured) and chat, with the advisory link, repository and flags, and
// never the report's text. A chat outage does not fail the report.
import t from 'tap'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startGateway } from '../helpers/gateway.js'
import { startGithubStub } from '../helpers/github-stub.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'
import { startChatSink } from '../helpers/chat-sink.js'
import { createGpg } from '../helpers/gpg.js'
import { openMail } from '../helpers/pgp-mail.js'
import { teamKey } from '../helpers/team-key.js'
import { plainMessage } from '../helpers/messages.js'
import { teamNotification } from '../../src/mail/messages.js'
import { chatNotifier, chatText } from '../../src/notify/chat.js'

t.test('team mail is encrypted to every member key and signed by the team key; chat gets a content-free notice with the advisory link', async (t) => {
  const team = await teamKey()
  const members = await createGpg()
  t.teardown(members.close)
  const alice = await members.generateKey({ name: 'Alice', email: 'alice@example.org', encryptionSubkey: 'cv25519' })
  const bob = await members.generateKey({ name: 'Bob', email: 'bob@example.org', encryptionSubkey: 'cv25519' })
  await members.importKey(team.armoredPublic)
  const dir = await mkdtemp(join(tmpdir(), 'members-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  await writeFile(join(dir, 'team.asc'), alice.armoredPublic + '\n' + bob.armoredPublic)

  const smtp = await startSmtpSink()
  const chat = await startChatSink()
  const stub = await startGithubStub({ repos: ['acme/widget'], token: 'ghp_test' })
  t.teardown(async () => { await smtp.close(); await chat.close(); await stub.close() })
  const gw = await startGateway(t, {
    PGP_PRIVATE_KEY: team.armoredSecret, SMTP_URL: smtp.url, SECURITY_EMAIL: 'security@example.org',
    GITHUB_API_URL: stub.url, GITHUB_TOKEN: 'ghp_test', GITHUB_OWNER: 'acme', GITHUB_DEFAULT_REPO: 'widget',
    TEAM_NOTIFY_EMAIL: 'team@example.org', TEAM_NOTIFY_KEYS_FILE: join(dir, 'team.asc'), NOTIFY_WEBHOOK_URL: chat.url
  })
  const canary = `CANARY-${Math.random().toString(36).slice(2)}`
  await gw.post(plainMessage({ from: 'rep@example.net', subject: `Bug ${canary}`, body: `Details ${canary}`, messageId: 'n-1@example.net' }))
  await gw.waitFor(() => smtp.messages.some((m) => m.envelope.rcptTo.some((r) => r.address === 'team@example.org')) && chat.posts.length === 1, 'team mail and chat')

  const mail = smtp.messages.find((m) => m.envelope.rcptTo.some((r) => r.address === 'team@example.org'))!
  const opened = await openMail(members, mail.raw)
  t.equal(opened.kind, 'encrypted', 'encrypted to the members')
  t.match(mail.raw.toString('latin1'), /^Autocrypt: addr=security@example\.org; prefer-encrypt=mutual; keydata=/m, 'team mail carries the Autocrypt header too')
  t.same(opened.validSigners, [team.fingerprint], 'signed by the team key')
  const ghsa = stub.advisories[0]!.ghsa_id
  t.match(opened.text, ghsa)
  t.match(opened.text, /Repository: acme\/widget/)
  t.match(opened.text, /Sender: +unverified/)
  t.match(opened.text, /Urgent: +no/)
  t.match(opened.text, `https://github.com/acme/widget/security/advisories/${ghsa}`)

  const post = chat.posts[0]!
  t.match(post.text, /New vulnerability report/)
  t.match(post.text, ghsa)
  t.match(post.text, 'acme/widget')
  t.match(post.text, /unverified sender/)
  t.match(post.text, `https://github.com/acme/widget/security/advisories/${ghsa}`)
  for (const m of smtp.messages) t.equal(m.raw.indexOf(canary), -1, 'no report text in any mail')
  t.notMatch(opened.entity.toString(), canary, 'nor inside the encrypted team mail')
  t.equal(chat.raw.join('').indexOf(canary), -1, 'no report text in chat')
})

t.test('a chat webhook that fails does not fail the report', async (t) => {
  const smtp = await startSmtpSink()
  t.teardown(smtp.close)
  const gw = await startGateway(t, { SMTP_URL: smtp.url, TEAM_NOTIFY_EMAIL: 'team@example.org', NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:1/hook' })
  await gw.post(plainMessage({ from: 'rep@example.net', messageId: 'n-2@example.net' }))
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 1, 'job completed')
  t.equal(await gw.queue.getFailedCount(), 0)
  t.equal(smtp.messages.length, 2, 'acknowledgement and team mail still sent')
  t.ok(gw.logs.some((l) => l.includes('chat webhook failed')))
  t.notOk(gw.logs.some((l) => l.includes('127.0.0.1:1')), 'the webhook URL (a credential) is not logged')
})

t.test('flags: urgent, severity, quarantined; the headline says it', async (t) => {
  const m = teamNotification({
    intakeId: 'in_1', to: 'team@example.org', from: 'security@example.org', repo: 'acme/widget', severity: 'high',
    advisory: { ghsaId: 'GHSA-2345-6789-cfgh', htmlUrl: 'https://github.com/acme/widget/security/advisories/GHSA-2345-6789-cfgh' },
    flags: { encrypted: true, signature: 'verified', unverifiedSender: false, urgent: true }
  })
  t.match(m.subject, /URGENT/)
  t.match(m.text, /^URGENT \(publicly disclosed\)/)
  t.match(m.text, /Severity: +high/)
  t.match(m.text, /Urgent: +yes/)
})

t.test('chat body: Slack and Discord fields, length capped; errors never carry the URL', async (t) => {
  const long = chatText({ title: 'x', lines: ['y'.repeat(5000)] })
  t.ok(long.length <= 1901)
  const failing = chatNotifier('https://hooks.example/secret-token', { fetch: async () => new Response('no', { status: 500 }) })
  await t.rejects(failing.post({ title: 't', lines: [] }), { message: 'chat webhook failed: 500' })
  const down = chatNotifier('https://hooks.example/secret-token', { fetch: async () => { throw new Error('connect to https://hooks.example/secret-token failed') } })
  const err = await down.post({ title: 't', lines: [] }).catch((e: Error) => e)
  t.notMatch((err as Error).message, 'secret-token')
})
