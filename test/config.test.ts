import t from 'tap'
import { ConfigError, loadConfig, settings } from '../src/config.js'

t.test('embedded defaults are the contract\'s', async (t) => {
  const c = loadConfig({})
  t.equal(c.port, 8080)
  t.equal(c.host, '0.0.0.0')
  t.equal(c.publicUrl, 'http://localhost:8080')
  t.equal(c.securityEmail, 'security@stacklok.com')
  t.equal(c.redisUrl, 'redis://127.0.0.1:6379')
  t.equal(c.queuePrefix, 'intake')
  t.equal(c.keysDir, 'keys')
  t.equal(c.github.apiUrl, 'https://api.github.com')
  t.equal(c.mailFrom, 'security@stacklok.com')
  t.equal(c.outboxDir, 'outbox')
  t.equal(c.logLevel, 'info')
  t.ok(Object.isFrozen(c) && Object.isFrozen(c.github), 'frozen')
})

t.test('every problem is listed at once', async (t) => {
  const err = t.throws(() => loadConfig({ PORT: 'x', SECURITY_EMAIL: 'nope', REDIS_URL: 'http://x', QUEUE_PREFIX: 'a:b', GITHUB_TOKEN: 't' })) as ConfigError
  t.ok(err instanceof ConfigError)
  t.equal(err.problems.length, 5)
  t.match(err.message, /PORT/)
  t.match(err.message, /SECURITY_EMAIL/)
  t.match(err.message, /REDIS_URL/)
  t.match(err.message, /QUEUE_PREFIX/)
  t.match(err.message, /GITHUB_OWNER and GITHUB_DEFAULT_REPO/)
})

t.test('production refuses embedded defaults that fake or lose work', async (t) => {
  const err = t.throws(() => loadConfig({ NODE_ENV: 'production' })) as ConfigError
  const text = err.problems.join('\n')
  for (const name of ['PGP_PRIVATE_KEY', 'GITHUB_TOKEN', 'SMTP_URL', 'INBOUND_SECRET', 'SEAL_', 'REDIS_URL']) t.match(text, name)
  const ok = loadConfig({
    NODE_ENV: 'production', PGP_PRIVATE_KEY_FILE: '/run/secrets/key', GITHUB_TOKEN: 't', GITHUB_OWNER: 'StacklokLabs', GITHUB_DEFAULT_REPO: 'security',
    SMTP_URL: 'smtp://u:p@mail:587', INBOUND_SECRET: 'a-long-enough-secret', SEAL_PRIVATE_KEY: 'k', REDIS_URL: 'redis://redis:6379'
  })
  t.equal(ok.production, true)
})

t.test('every contract variable is in the schema', async (t) => {
  const names = settings.map((s) => s.env) as string[]
  for (const v of ['PORT', 'HOST', 'PUBLIC_URL', 'SECURITY_EMAIL', 'REDIS_URL', 'QUEUE_PREFIX', 'PGP_PRIVATE_KEY_FILE', 'PGP_PRIVATE_KEY', 'PGP_PASSPHRASE', 'KEYS_DIR', 'GITHUB_API_URL', 'GITHUB_TOKEN', 'GITHUB_APP_ID', 'GITHUB_APP_PRIVATE_KEY', 'GITHUB_APP_INSTALLATION_ID', 'GITHUB_OWNER', 'GITHUB_DEFAULT_REPO', 'SMTP_URL', 'MAIL_FROM', 'TEAM_NOTIFY_EMAIL', 'OUTBOX_DIR', 'INBOUND_SECRET', 'MAILGUN_SIGNING_KEY', 'INBOUND_BASIC_AUTH', 'ADMIN_BASIC_AUTH', 'GITHUB_WEBHOOK_SECRET', 'ROUTING_FILE', 'DISCORD_WEBHOOK_URL', 'NOTIFY_WEBHOOK_URL', 'LOG_LEVEL']) {
    t.ok(names.includes(v), v)
  }
})

t.test('production checks each role for what it uses', async (t) => {
  const web = loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://r:6379', INBOUND_SECRET: 'a-long-enough-secret', SEAL_PUBLIC_KEY: 'p' }, 'web')
  t.equal(web.production, true, 'the web role needs no PGP key, GitHub or SMTP')
  const err = t.throws(() => loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://r:6379', INBOUND_SECRET: 's', SEAL_PUBLIC_KEY: 'p' }, 'worker')) as ConfigError
  t.match(err.problems.join('\n'), /PGP_PRIVATE_KEY/)
  t.match(err.problems.join('\n'), /SEAL_PRIVATE_KEY/)
  t.notMatch(err.problems.join('\n'), /INBOUND_SECRET/, 'the worker takes no webhooks')
})

t.test('production refuses a secret too short to be one', async (t) => {
  const err = t.throws(() => loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://r:6379', INBOUND_SECRET: 'changeme', SEAL_PUBLIC_KEY: 'p' }, 'web')) as ConfigError
  t.match(err.problems.join('\n'), /INBOUND_SECRET is too short/)
})

t.test('a production web role refuses private keys and tokens in its environment', async (t) => {
  const err = t.throws(() => loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://r:6379', INBOUND_SECRET: 'a-long-enough-secret', SEAL_PRIVATE_KEY: 'k', PGP_PRIVATE_KEY: 'armored', GITHUB_TOKEN: 't', GITHUB_OWNER: 'o', GITHUB_DEFAULT_REPO: 'r', SMTP_URL: 'smtps://u:p@mail:465', DKIM_PRIVATE_KEY: 'pem', DKIM_SELECTOR: 's1' }, 'web')) as ConfigError
  const text = err.problems.join('\n')
  for (const name of ['SEAL_PUBLIC_KEY is required', 'must not be given SEAL_PRIVATE_KEY', 'must not be given PGP_PRIVATE_KEY', 'must not be given GITHUB_TOKEN', 'must not be given SMTP_URL', 'must not be given DKIM_PRIVATE_KEY']) t.match(text, name)
})

t.test('a secret key file inside KEYS_DIR is refused (committed, published, read by the web role)', async (t) => {
  for (const [keysDir, file] of [['keys', 'keys/team.asc'], ['keys', './keys/sub/team.secret.asc'], ['/srv/keys', '/srv/keys/..team.asc']] as const) {
    const err = t.throws(() => loadConfig({ KEYS_DIR: keysDir, PGP_PRIVATE_KEY_FILE: file })) as ConfigError
    t.match(err.message, /PGP_PRIVATE_KEY_FILE must not be inside KEYS_DIR/, file)
  }
  t.equal(loadConfig({ KEYS_DIR: 'keys', PGP_PRIVATE_KEY_FILE: 'keys-secret/team.asc' }).pgp.privateKeyFile, 'keys-secret/team.asc', 'a sibling directory is fine')
  t.equal(loadConfig({ PGP_PRIVATE_KEY_FILE: '/run/secrets/team.asc' }).pgp.privateKeyFile, '/run/secrets/team.asc')
})
