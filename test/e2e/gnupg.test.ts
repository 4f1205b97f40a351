// The acceptance scenario of issue 2: a GnuPG-made team key configured, GitHub and
// SMTP pointed at local peers, and a GnuPG-encrypted, GnuPG-signed PGP/MIME report.
import t from 'tap'
import { createHash } from 'node:crypto'
import { simpleParser } from 'mailparser'
import { startGateway } from '../helpers/gateway.js'
import { startGithubStub } from '../helpers/github-stub.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'
import { attachmentPart, createGpg, message, multipart, pgpMimeEncrypted, pgpMimeSigned, textPart } from '../helpers/gpg.js'
import { dumpValues } from '../helpers/redis.js'

t.test('GnuPG PGP/MIME (signed, then encrypted) becomes one schema-valid draft advisory and one threaded acknowledgement', async (t) => {
  const team = await createGpg()
  const reporter = await createGpg()
  t.teardown(async () => { await team.close(); await reporter.close() })
  const teamKey = await team.generateKey({ name: 'StacklokLabs Security', email: 'security@stacklok.com', algo: 'ed25519', usage: 'sign', encryptionSubkey: 'cv25519' })
  const reporterKey = await reporter.generateKey({ name: 'Ada Reporter', email: 'ada@example.net', algo: 'ed25519', usage: 'sign' })
  await reporter.importKey(teamKey.armoredPublic)

  const stub = await startGithubStub({ repos: ['StacklokLabs/security-reports'], token: 'ghp_test' })
  const smtp = await startSmtpSink()
  t.teardown(async () => { await stub.close(); await smtp.close() })
  const gw = await startGateway(t, {
    PGP_PRIVATE_KEY: await team.exportSecret(teamKey.fingerprint),
    GITHUB_API_URL: stub.url, GITHUB_TOKEN: 'ghp_test', GITHUB_OWNER: 'StacklokLabs', GITHUB_DEFAULT_REPO: 'security-reports',
    SMTP_URL: smtp.url, TEAM_NOTIFY_EMAIL: 'team@stacklok.com'
  })

  // What Thunderbird/Enigmail sends: sign the inner entity (RFC 3156 section 5), then
  // encrypt the whole signed entity (section 6.1); the sender's key rides in Autocrypt.
  const canary = 'CANARY-' + Math.random().toString(36).slice(2)
  const poc = Buffer.from(`#!/bin/sh\ncurl http://localhost:8080/../../etc/passwd # ${canary}\n`)
  const inner = multipart('mixed', [
    textPart(`Hello team,\n\nthe fetch server follows ../ in paths. ${canary}\nVersions: <= 0.2.1\n`),
    attachmentPart({ filename: 'poc.sh', contentType: 'application/x-sh', content: poc })
  ])
  const signature = await reporter.sign(inner, { signer: reporterKey.fingerprint, mode: 'detach' })
  const signed = pgpMimeSigned(inner, signature)
  const ciphertext = await reporter.encrypt(signed, { to: [teamKey.fingerprint] })
  const keydata = (await reporter.run(['--export', reporterKey.fingerprint])).toString('base64').replace(/.{72}/g, '$&\r\n ')
  const raw = message({
    from: 'Ada Reporter <ada@example.net>', to: 'security@stacklok.com', subject: '...', messageId: 'gnupg-1@example.net',
    headers: { Autocrypt: `addr=ada@example.net; keydata=\r\n ${keydata}` }
  }, pgpMimeEncrypted(ciphertext))

  const res = await gw.post(raw)
  t.equal(res.status, 200)
  await gw.waitFor(() => smtp.messages.length >= 2, 'acknowledgement and team notice')
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === 1, 'job completed')

  t.equal(stub.requests.filter((r) => r.method === 'POST').length, 1, 'exactly one advisory request')
  t.equal(stub.invalidRequests.length, 0, 'valid against GitHub\'s published schema')
  const advisory = stub.advisories[0]!
  t.equal(advisory.state, 'draft')
  t.match(advisory.description, canary, 'the decrypted text is in the advisory')
  t.match(advisory.description, 'poc.sh')
  t.match(advisory.description, createHash('sha256').update(poc).digest('hex'), 'attachment listed with its SHA-256')
  t.match(advisory.description, reporterKey.fingerprint, 'signature verified, signer fingerprint shown')
  t.match(advisory.description, teamKey.fingerprint, 'decrypting key shown')

  const acks = smtp.messages.filter((m) => m.envelope.rcptTo.some((r) => r.address === 'ada@example.net'))
  t.equal(acks.length, 1, 'exactly one acknowledgement')
  const ack = await simpleParser(acks[0]!.raw)
  t.equal(ack.inReplyTo, '<gnupg-1@example.net>')
  t.match(String(ack.references), 'gnupg-1@example.net')
  t.equal(ack.headers.get('auto-submitted'), 'auto-replied')
  t.match(ack.text ?? '', advisory.ghsa_id)
  t.match(ack.text ?? '', /24 hours/)
  const notice = smtp.messages.find((m) => m.envelope.rcptTo.some((r) => r.address === 'team@stacklok.com'))
  t.match(notice?.raw.toString(), /Sender: +unverified/, 'a key that came in the same message does not make the sender verified')
  for (const m of smtp.messages) t.equal(m.raw.indexOf(canary), -1, 'no report text in any outgoing mail')
  t.equal(Buffer.concat(await dumpValues(gw.redis, gw.prefix)).indexOf(canary), -1, 'no report text in Redis')
  t.equal(gw.logs.join('').indexOf(canary), -1, 'no report text in logs')
})
