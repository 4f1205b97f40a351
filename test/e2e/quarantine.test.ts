// Mail the gateway cannot decrypt is kept (sealed) with its reason, the team and the
// reporter are told, and an operator can replay it once the right key is configured.
import t from 'tap'
import * as openpgp from 'openpgp'
import { simpleParser } from 'mailparser'
import { startGateway } from '../helpers/gateway.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'
import { startGithubStub } from '../helpers/github-stub.js'
import { generateTeamKey } from '../../src/pgp/keyring.js'
import { quarantineCommand } from '../../src/cli/quarantine.js'
import { testConfig } from '../helpers/config.js'
import { REDIS_URL, dumpValues } from '../helpers/redis.js'

async function encryptedTo (armoredPublic: string, text: string): Promise<Buffer> {
  const ciphertext = await openpgp.encrypt({ message: await openpgp.createMessage({ text }), encryptionKeys: await openpgp.readKey({ armoredKey: armoredPublic }) })
  return Buffer.from([
    'From: Reporter <reporter@example.org>', 'To: security@stacklok.com', 'Subject: encrypted report',
    'Message-ID: <q-1@example.org>', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=us-ascii', '', String(ciphertext)
  ].join('\r\n'))
}

t.test('undecryptable -> quarantine, notices, CLI list/show, replay after key rotation', async (t) => {
  const current = await generateTeamKey({ email: 'security@stacklok.com', type: 'curve25519' })
  const older = await generateTeamKey({ email: 'security@stacklok.com', type: 'curve25519' })
  const smtp = await startSmtpSink()
  const stub = await startGithubStub({ repos: ['StacklokLabs/security-reports'], token: 'ghp_test' })
  t.teardown(async () => { await smtp.close(); await stub.close() })
  const env = {
    PGP_PRIVATE_KEY: current.armoredSecret, SMTP_URL: smtp.url, TEAM_NOTIFY_EMAIL: 'team@stacklok.com',
    GITHUB_API_URL: stub.url, GITHUB_TOKEN: 'ghp_test', GITHUB_OWNER: 'StacklokLabs', GITHUB_DEFAULT_REPO: 'security-reports'
  }
  const gw = await startGateway(t, env)
  const canary = 'CANARY-' + Math.random().toString(36).slice(2)
  const res = await gw.post(await encryptedTo(older.armoredPublic, `exploit ${canary}`))
  t.equal(res.status, 200, 'accepted: it is stored before anyone knows it cannot be read')
  const id = res.id as string

  await gw.waitFor(() => smtp.messages.length >= 2, 'team notice and reporter reply')
  t.equal(stub.requests.length, 0, 'no advisory for an unreadable report')
  const toReporter = await simpleParser(smtp.messages.find((m) => m.envelope.rcptTo[0]?.address === 'reporter@example.org')!.raw)
  t.equal(toReporter.inReplyTo, '<q-1@example.org>')
  t.match(toReporter.text?.replace(/\s/g, '') ?? '', current.fingerprint, 'tells the reporter which key to use')
  const toTeam = smtp.messages.find((m) => m.envelope.rcptTo[0]?.address === 'team@stacklok.com')!
  t.match(toTeam.raw.toString(), /quarantin/i, 'the team notice says it was quarantined')

  const config = testConfig({ REDIS_URL, QUEUE_PREFIX: gw.prefix, SEAL_PRIVATE_KEY: 'unused' })
  let out = ''
  t.equal(await quarantineCommand(config, ['list'], (s) => { out += s }), 0)
  t.match(out, id)
  t.match(out, 'undecryptable')
  out = ''
  t.equal(await quarantineCommand(config, ['show', id], (s) => { out += s }), 0)
  t.match(JSON.parse(out.slice(0, out.lastIndexOf('}') + 1)), { intakeId: id, code: 'undecryptable' })
  t.equal(Buffer.concat(await dumpValues(gw.redis, gw.prefix)).indexOf(canary), -1, 'kept sealed: no plaintext in Redis')

  // The team finds the older key and configures both (rotation), then replays.
  await gw.restartWorker({ PGP_PRIVATE_KEY: current.armoredSecret + '\n' + older.armoredSecret })
  out = ''
  t.equal(await quarantineCommand(config, ['replay', id], (s) => { out += s }), 0)
  await gw.waitFor(() => stub.advisories.length === 1, 'advisory after replay')
  t.match(stub.advisories[0]?.description, canary)
  await gw.waitFor(() => smtp.messages.some((m) => m.raw.includes(stub.advisories[0]!.ghsa_id)), 'acknowledgement after replay')
  await gw.waitFor(async () => (await quarantineCommand(config, ['list'], (s) => { out = s })) === 0 && out.includes('empty'), 'quarantine emptied')
})
