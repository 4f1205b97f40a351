import t from 'tap'
import { ConfigError, loadConfig } from '../../src/config.js'

t.test('provider settings: defaults and validation', async (t) => {
  const c = loadConfig({ NODE_ENV: 'test' })
  t.equal(c.inboundMaxBytes, 40 * 1024 * 1024, 'body limit 40 MiB by default')
  t.same(c.inboundRateLimit, { max: 120, windowSeconds: 60 })
  t.same(c.senderRateLimit, { max: 20, windowSeconds: 3600 })
  t.equal(c.spamScoreThreshold, 5)
  t.same(c.securityAliases, [])
  t.equal(c.sesTopicArns, undefined, 'SES endpoint off without a topic')
  t.equal(c.sesConfirmSubscription, false)
  const set = loadConfig({ NODE_ENV: 'test', SECURITY_ALIASES: 'PSIRT@stacklok.com, sec@other.example', SES_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:inbound', INBOUND_MAX_MB: '60', SENDER_RATE_LIMIT: '5/600', SES_CONFIRM_SUBSCRIPTION: 'true' })
  t.same(set.securityAliases, ['psirt@stacklok.com', 'sec@other.example'])
  t.same(set.sesTopicArns, ['arn:aws:sns:eu-west-1:123456789012:inbound'])
  t.equal(set.inboundMaxBytes, 60 * 1024 * 1024)
  t.same(set.senderRateLimit, { max: 5, windowSeconds: 600 })
  t.equal(set.sesConfirmSubscription, true)
  try {
    loadConfig({ NODE_ENV: 'test', SECURITY_ALIASES: 'not-an-address', SES_TOPIC_ARN: 'https://sns.example', INBOUND_RATE_LIMIT: '10', SPAM_SCORE_THRESHOLD: 'high', INBOUND_MAX_MB: '0' })
    t.fail('should refuse')
  } catch (err) {
    t.ok(err instanceof ConfigError)
    t.equal((err as ConfigError).problems.length, 5, 'every problem listed')
  }
})
