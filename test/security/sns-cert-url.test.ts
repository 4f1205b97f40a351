// Issue 15, finding 7 (low): an anonymous SES post whose SigningCertURL was an SNS URL
// with a random query string made one outbound request per post. The URL must be SNS's
// own form (checked before any fetch), certificates are cached by that form, and new
// certificate URLs are fetched within a budget.
import t, { type Test } from 'tap'
import { buildWeb } from '../../src/roles/web.js'
import { createLogger } from '../../src/log.js'
import { generateSealKeyPair, importPublicKey } from '../../src/seal/hpke.js'
import { CERT_FETCH_BUDGET, snsCertUrl } from '../../src/inbound/sns-verify.js'
import { testConfig } from '../helpers/config.js'
import { plainMessage } from '../helpers/messages.js'
import { REDIS_URL, dropPrefix, uniquePrefix } from '../helpers/redis.js'
import { CERT_URL, TOPIC, sesNotification, snsSigner, type SnsSigner } from '../helpers/providers.js'

const log = createLogger({ level: process.env.TEST_LOG ?? 'silent', production: false })

async function setup (t: Test, signer: SnsSigner) {
  const prefix = uniquePrefix('sns-cert')
  const web = await buildWeb({ config: testConfig({ QUEUE_PREFIX: prefix, REDIS_URL, SES_TOPIC_ARN: TOPIC }), log, sealPublicKey: importPublicKey(generateSealKeyPair().publicKey), fetchText: signer.fetchText })
  t.teardown(async () => { await web.close(); await dropPrefix(prefix) })
  await new Promise((resolve) => setTimeout(resolve, 50))
  /** A notification signed by the test certificate, naming `url` as its certificate. */
  return async (url: string, n: number) => {
    const good = JSON.parse(sesNotification(signer, plainMessage({ messageId: `cert-${n}@example.org` })).payload.toString()) as { Message: string }
    const m = signer.sign({ Type: 'Notification', MessageId: `cert-url-${n}`, TopicArn: TOPIC, Message: good.Message, Timestamp: new Date().toISOString(), SigningCertURL: url })
    return (await web.fastify.inject({ method: 'POST', url: '/inbound/ses', headers: { 'content-type': 'text/plain; charset=UTF-8' }, payload: JSON.stringify(m) })).statusCode
  }
}

const PATH = '/SimpleNotificationService-0000000000000000000000.pem'
const ODD = [
  `https://sns.us-east-1.amazonaws.com${PATH}?x=1`,
  `https://sns.us-east-1.amazonaws.com${PATH}?`,
  `https://sns.us-east-1.amazonaws.com${PATH}#frag`,
  `https://user@sns.us-east-1.amazonaws.com${PATH}`,
  `https://sns.us-east-1.amazonaws.com:8443${PATH}`,
  `http://sns.us-east-1.amazonaws.com${PATH}`,
  'https://sns.us-east-1.amazonaws.com/cert.pem',
  'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-nothex!.pem',
  `https://sns.us-east-1.amazonaws.com/dir${PATH}`,
  `https://sns.us-east-1.amazonaws.com.evil.example${PATH}`,
  `https://evil.example/sns.us-east-1.amazonaws.com${PATH}`
]
/** Well-formed, but not the topic's region. */
const OTHER_REGION = `https://sns.eu-west-1.amazonaws.com${PATH}`

t.test('odd certificate URLs are refused without a fetch', async (t) => {
  for (const url of ODD) t.equal(snsCertUrl(url), undefined, url)
  t.same(snsCertUrl(CERT_URL), { url: CERT_URL, region: 'us-east-1' })
  t.same(snsCertUrl('https://SNS.cn-north-1.amazonaws.com.cn/SimpleNotificationService-0123456789abcdef0123.pem'), { url: 'https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-0123456789abcdef0123.pem', region: 'cn-north-1' })
  const signer = await snsSigner()
  const post = await setup(t, signer)
  let n = 0
  for (const url of [...ODD, OTHER_REGION]) t.equal(await post(url, n++), 401, `refused: ${url}`)
  t.same(signer.fetches, [], 'nothing fetched')
})

t.test('random query strings on the real certificate URL: no request per post', async (t) => {
  const signer = await snsSigner()
  const post = await setup(t, signer)
  t.equal(await post(CERT_URL, 0), 200)
  for (let i = 1; i <= 20; i++) t.equal(await post(`${CERT_URL}?r=${Math.random()}`, i), 401)
  t.same(signer.fetches, [CERT_URL], 'the one certificate, fetched once')
})

t.test('new well-formed certificate URLs are fetched within a budget; the cached one keeps working', async (t) => {
  const signer = await snsSigner()
  const post = await setup(t, signer)
  t.equal(await post(CERT_URL, 0), 200)
  const answers: number[] = []
  for (let i = 1; i <= 3 * CERT_FETCH_BUDGET.fetches; i++) answers.push(await post(`https://sns.us-east-1.amazonaws.com/SimpleNotificationService-${i.toString(16).padStart(32, 'a')}.pem`, i))
  t.ok(answers.every((s) => s === 503), 'unknown certificates: 503 (SNS would retry)')
  t.equal(signer.fetches.length, CERT_FETCH_BUDGET.fetches, `at most ${CERT_FETCH_BUDGET.fetches} fetches (1 known + the rest of the budget)`)
  t.equal(await post(CERT_URL, 99), 200, 'the cached certificate still verifies')
})
