// Done-when of the providers issue: each of the four providers, configured as its
// documentation says, delivers a GnuPG-encrypted report that becomes exactly one
// advisory (however often the provider redelivers it), and spam, failed DMARC and
// senders over their rate end in the quarantine with no advisory and no acknowledgement.
import t, { type Test } from 'tap'
import { startGateway } from '../helpers/gateway.js'
import { startGithubStub } from '../helpers/github-stub.js'
import { startSmtpSink } from '../helpers/smtp-sink.js'
import { makeTeamKey } from '../helpers/team-key.js'
import { message, pgpMimeEncrypted, reporterPeer, textPart } from '../helpers/gpg.js'
import { plainMessage } from '../helpers/messages.js'
import { REDIS_URL, dumpValues } from '../helpers/redis.js'
import { testConfig } from '../helpers/config.js'
import { quarantineCommand } from '../../src/cli/quarantine.js'
import { quarantineStore } from '../../src/quarantine/store.js'
import { BASIC, MAILGUN_KEY, TOPIC, mailgunFields, multipartForm, postmarkJson, sendgridForm, sesNotification, snsSigner, urlencodedForm, type Request } from '../helpers/providers.js'

const REPO = { repos: ['StacklokLabs/security-reports'], token: 'ghp_test' }

async function peers (t: Test, env: Record<string, string> = {}) {
  const team = await makeTeamKey({ email: 'security@stacklok.com' })
  const stub = await startGithubStub(REPO)
  const smtp = await startSmtpSink()
  t.teardown(async () => { await stub.close(); await smtp.close() })
  const signer = await snsSigner()
  const gw = await startGateway(t, {
    PGP_PRIVATE_KEY: team.armoredSecret, SMTP_URL: smtp.url,
    GITHUB_API_URL: stub.url, GITHUB_TOKEN: 'ghp_test', GITHUB_OWNER: 'StacklokLabs', GITHUB_DEFAULT_REPO: 'security-reports',
    MAILGUN_SIGNING_KEY: MAILGUN_KEY, INBOUND_BASIC_AUTH: BASIC, SES_TOPIC_ARN: TOPIC,
    ...env
  }, { fetchText: signer.fetchText })
  return { team, stub, smtp, signer, gw }
}

t.test('a GnuPG-encrypted report through each provider, delivered five times, becomes exactly one advisory', async (t) => {
  // One reporter sends all six: raise the per-sender acknowledgement cap (RFC 3834 window) so each is answered.
  const { team, stub, smtp, signer, gw } = await peers(t, { AUTO_REPLY_ACK_LIMIT: '10' })
  const { gpg, reporter } = await reporterPeer(t, team.armoredPublic)
  const keydata = (await gpg.run(['--export', reporter.fingerprint])).toString('base64').replace(/.{72}/g, '$&\r\n ')
  const canaries: Record<string, string> = {}
  async function report (name: string): Promise<Buffer> {
    canaries[name] = `CANARY-${name}-${Math.random().toString(36).slice(2)}`
    const inner = textPart(`Hello team, ${canaries[name]} allows reading any file.\n`)
    const ciphertext = await gpg.encrypt(inner, { to: [team.fingerprint], signer: reporter.fingerprint })
    return message({
      from: 'Reporter <reporter@example.net>', to: 'security@stacklok.com', subject: `report via ${name}`, messageId: `${name}@example.net`,
      headers: { Autocrypt: `addr=reporter@example.net; keydata=\r\n ${keydata}` }
    }, pgpMimeEncrypted(ciphertext))
  }
  const deliveries: Record<string, () => Request> = {}
  const mailgunUrl = await report('mailgun-urlencoded')
  deliveries['mailgun-urlencoded'] = () => urlencodedForm(mailgunFields(mailgunUrl, { sender: 'reporter@example.net' })) // new token each time
  const mailgunMulti = await report('mailgun-multipart')
  deliveries['mailgun-multipart'] = () => multipartForm(mailgunFields(mailgunMulti, { sender: 'reporter@example.net' }))
  const sendgrid = await report('sendgrid')
  deliveries.sendgrid = () => sendgridForm(sendgrid, { from: 'reporter@example.net', spamScore: '0.4' })
  const postmark = await report('postmark')
  deliveries.postmark = () => postmarkJson(postmark)
  const ses = await report('ses')
  deliveries.ses = () => sesNotification(signer, ses, { source: 'reporter@example.net' })
  // Postmark without "Include raw email content": the PGP text rides in TextBody.
  canaries['postmark-rebuilt'] = `CANARY-rebuilt-${Math.random().toString(36).slice(2)}`
  const inline = (await gpg.encrypt(`Inline report ${canaries['postmark-rebuilt']}\n`, { to: [team.fingerprint] })).toString()
  deliveries['postmark-rebuilt'] = () => postmarkJson(undefined, { TextBody: inline, MessageID: 'pm-rebuilt', Headers: [{ Name: 'Message-ID', Value: '<pm-rebuilt@example.net>' }] })

  const urls: Record<string, string> = {
    'mailgun-urlencoded': '/inbound/mailgun/mime', 'mailgun-multipart': '/inbound/mailgun/mime', sendgrid: '/inbound/sendgrid',
    postmark: '/inbound/postmark', 'postmark-rebuilt': '/inbound/postmark', ses: '/inbound/ses'
  }
  const ids: Record<string, string> = {}
  for (let round = 0; round < 5; round++) {
    for (const [name, build] of Object.entries(deliveries)) {
      const res = await gw.inject({ method: 'POST', url: urls[name] as string, ...build() })
      t.equal(res.statusCode, 200, `${name} delivery ${round + 1}: ${res.body}`)
      const id = (JSON.parse(res.body) as { id: string }).id
      if (round === 0) ids[name] = id
      else t.equal(id, ids[name], `${name} redelivery ${round + 1}: same id`)
    }
  }
  const n = Object.keys(deliveries).length
  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === n, 'every report processed')
  await gw.waitFor(() => smtp.messages.length >= n, 'acknowledgements')
  t.equal(stub.advisories.length, n, 'one advisory per report, not per delivery')
  t.equal(stub.invalidRequests.length, 0)
  for (const [name, canary] of Object.entries(canaries)) {
    const matching = stub.advisories.filter((a) => a.description?.includes(canary))
    t.equal(matching.length, 1, `${name}: exactly one advisory holds the decrypted report`)
    t.match(matching[0]?.description, new RegExp(`Inbound provider \\| \`\\s*${name.replace(/-.*/, '')}\\b`), `${name}: the provider is named`)
  }
  const rebuilt = stub.advisories.find((a) => a.description?.includes(canaries['postmark-rebuilt'] as string))
  t.match(rebuilt?.description, 'rebuilt by provider, signatures unverifiable', 'the rebuilt report says so')
  for (const name of ['mailgun-urlencoded', 'mailgun-multipart', 'sendgrid', 'postmark', 'ses']) {
    const advisory = stub.advisories.find((a) => a.description?.includes(canaries[name] as string))
    t.match(advisory?.description, reporter.fingerprint, `${name}: the GnuPG signature verifies (key from Autocrypt)`)
  }
  t.equal(smtp.messages.filter((m) => m.envelope.rcptTo.some((r) => r.address === 'reporter@example.net')).length, n - 1, 'one acknowledgement per report with a reporter address')
  const everything = Buffer.concat(await dumpValues(gw.redis, gw.prefix))
  for (const canary of Object.values(canaries)) {
    t.equal(everything.indexOf(canary), -1, 'no report text in Redis')
    t.equal(gw.logs.join('').indexOf(canary), -1, 'no report text in logs')
  }
  t.equal(everything.indexOf('reporter@example.net'), -1, 'no sender address in clear in Redis')
})

t.test('spam, failed DMARC, a virus verdict and a sender over its rate: quarantined, no advisory, no acknowledgement', async (t) => {
  const { stub, smtp, signer, gw } = await peers(t, { SENDER_RATE_LIMIT: '2/3600', SPAM_SCORE_THRESHOLD: '5' })
  const msg = (from: string, id: string, headers: Record<string, string> = {}) => plainMessage({ from: `<${from}>`, messageId: id, headers })
  const sent: Array<[string, { statusCode: number, body: string }]> = []
  const post = async (name: string, url: string, req: Request) => { sent.push([name, await gw.inject({ method: 'POST', url, ...req })]) }
  await post('spam-score', '/inbound/sendgrid', sendgridForm(msg('score@spam.example', 's1@spam.example'), { from: 'score@spam.example', spamScore: '9.7' }))
  await post('spam-flag', '/inbound/mailgun/mime', urlencodedForm(mailgunFields(msg('flag@spam.example', 's2@spam.example', { 'X-Mailgun-Sflag': 'Yes', 'X-Mailgun-Sscore': '12.1' }), { sender: 'flag@spam.example' })))
  await post('spam-postmark', '/inbound/postmark', postmarkJson(msg('pm@spam.example', 's3@spam.example'), { FromFull: { Email: 'pm@spam.example' }, Headers: [{ Name: 'X-Spam-Status', Value: 'Yes, score=8.1 required=5.0' }] }))
  await post('dmarc', '/inbound/ses', sesNotification(signer, msg('ceo@bank.example', 'd1@bank.example'), { source: 'bounce@forger.example', dmarc: 'FAIL', snsMessageId: 'd1' }))
  await post('ses-spam', '/inbound/ses', sesNotification(signer, msg('x@spam.example', 's4@spam.example'), { source: 'x@spam.example', spam: 'FAIL', snsMessageId: 's4' }))
  for (let i = 1; i <= 3; i++) await post(`flood-${i}`, '/inbound/sendgrid', sendgridForm(msg('flood@example.net', `f${i}@example.net`), { from: 'flood@example.net' }))
  for (const [name, res] of sent) t.equal(res.statusCode, 200, `${name} accepted (stored, then judged by the worker)`)

  await gw.waitFor(async () => (await gw.queue.getCompletedCount()) === sent.length, 'every message processed')
  await gw.waitFor(() => smtp.messages.length >= 2, 'the flood\'s acknowledgements')
  const store = quarantineStore(gw.redis, gw.prefix)
  const entries = await store.list()
  const idOf = (name: string) => (JSON.parse(sent.find(([n]) => n === name)?.[1].body ?? '{}') as { id: string }).id
  const codeOf = (name: string) => entries.find((e) => e.intakeId === idOf(name))?.code
  t.equal(codeOf('spam-score'), 'spam')
  t.match(entries.find((e) => e.intakeId === idOf('spam-score'))?.reason, 'spam score 9.7 above SPAM_SCORE_THRESHOLD 5')
  t.equal(codeOf('spam-flag'), 'spam')
  t.equal(codeOf('spam-postmark'), 'spam')
  t.equal(codeOf('dmarc'), 'dmarc-fail')
  t.equal(codeOf('ses-spam'), 'spam')
  const flood = ['flood-1', 'flood-2', 'flood-3'].map(codeOf)
  t.same(flood.filter((c) => c === 'sender-rate').length, 1, 'the third report of the sender within the window is held')
  t.equal(flood.filter((c) => c === undefined).length, 2)
  t.equal(stub.advisories.length, 2, 'advisories for the two flood reports within the rate only')
  t.equal(smtp.messages.length, 2, 'no acknowledgement to anything held')
  t.same(smtp.messages.map((m) => m.envelope.rcptTo[0]?.address), ['flood@example.net', 'flood@example.net'])
  const keys = await gw.redis.keys(`${gw.prefix}:gw:sender-rate:*`)
  t.equal(keys.length, 1, 'one counter for the flood sender (spam is not counted)')
  t.notMatch(keys[0], /flood|example/, 'counted under a keyed hash, never the address')

  // An operator who judges one a false positive replays it: it is filed, checks skipped.
  const config = testConfig({ REDIS_URL, QUEUE_PREFIX: gw.prefix, SEAL_PRIVATE_KEY: 'unused' })
  t.equal(await quarantineCommand(config, ['replay', idOf('dmarc')], () => {}), 0)
  await gw.waitFor(async () => stub.advisories.length === 3 && await store.get(idOf('dmarc')) === undefined, 'advisory after replay, out of the quarantine')
  t.pass('replayed and resolved')
})
