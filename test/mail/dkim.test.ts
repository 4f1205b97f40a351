// DKIM: with DKIM_PRIVATE_KEY and DKIM_SELECTOR set, every mail leaves signed, and a DKIM
// verifier (mailauth) passes it against the published key, served by a resolver stub
// standing in for DNS. PGP/MIME signing happens first, so DKIM covers the final bytes.
import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dkimVerify } from 'mailauth/lib/dkim/verify.js'
import { startGateway } from '../helpers/gateway.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'
import { plainMessage } from '../helpers/messages.js'
import { testConfig } from '../helpers/config.js'
import { dkimOptions } from '../../src/mail/transport.js'
import { redactPaths } from '../../src/log.js'

t.test('acknowledgement and team mail are DKIM-signed and verify against the published key', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const dir = await mkdtemp(join(tmpdir(), 'dkim-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  // The key as a file path (the inline PEM form is the same setting).
  await writeFile(join(dir, 'dkim.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 })
  const txt = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`
  const lookups: string[] = []
  const resolver = async (name: string, type: string) => {
    lookups.push(`${type} ${name}`)
    if (type === 'TXT' && name === 'intake2026._domainkey.example.org') return [[txt]]
    throw Object.assign(new Error('NXDOMAIN'), { code: 'ENOTFOUND' })
  }

  const smtp = await startSmtpSink()
  t.teardown(smtp.close)
  const gw = await startGateway(t, {
    SMTP_URL: smtp.url, SECURITY_EMAIL: 'security@example.org', TEAM_NOTIFY_EMAIL: 'team@example.org',
    DKIM_PRIVATE_KEY: join(dir, 'dkim.pem'), DKIM_SELECTOR: 'intake2026'
  })
  await gw.post(plainMessage({ from: 'rep@example.net', messageId: 'd-1@example.net' }))
  await gw.waitFor(() => smtp.messages.length === 2, 'two mails')

  for (const mail of smtp.messages) {
    const result = await dkimVerify(mail.raw, { resolver })
    const sig = result.results[0]
    t.equal(sig?.status.result, 'pass', `DKIM passes (${sig?.status.comment ?? ''})`)
    t.equal(sig?.signingDomain, 'example.org', 'signed for the MAIL_FROM domain')
    t.equal(sig?.selector, 'intake2026')
    const tampered = Buffer.from(mail.raw.toString('latin1').replace('This is an OpenPGP/MIME', 'This is an 0penPGP/MIME').replace(/^Subject: /m, 'Subject: FW: '), 'latin1')
    t.not((await dkimVerify(tampered, { resolver })).results[0]?.status.result, 'pass', 'a changed subject or body fails')
  }
  t.ok(lookups.includes('TXT intake2026._domainkey.example.org'))
})

// Review of issue 6: a key pasted without its PEM armour was taken for a path, and the
// file error (which the start-up failure prints) quoted the whole value: the key itself.
t.test('a DKIM_PRIVATE_KEY that is neither PEM nor a readable file fails without quoting it', async (t) => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const bare = privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64')
  const config = testConfig({ DKIM_PRIVATE_KEY: bare, DKIM_SELECTOR: 'intake2026', SECURITY_EMAIL: 'security@example.org' })
  let message = ''
  try {
    dkimOptions(config)
  } catch (err) {
    message = `${(err as Error).message} ${(err as Error).stack ?? ''}`
  }
  t.match(message, /DKIM_PRIVATE_KEY/, 'fails, naming the setting')
  t.equal(message.indexOf(bare.slice(0, 40)), -1, 'the key is not in the error')
  t.ok(redactPaths.includes('config.dkim'), 'and a logged config would not show it either')
})
