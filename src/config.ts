// One typed configuration, read from the environment (and `.env`) once at start.
// `settings` is the single source: the loader, the README table (scripts/config-table.ts)
// and the tests all read it. Every problem is collected and reported together.
import { isInside } from './domain/paths.js'
import type { PrivateForkPolicy } from './domain/advisory.js'

export type Role = 'all' | 'web' | 'worker'

interface Setting {
  env: string
  default?: string
  doc: string
  /** Turns the raw string into a value, or returns an error message. */
  parse?: (value: string) => { value: unknown } | { error: string }
  secret?: boolean
}

const url = (protocols: string[]) => (value: string) => {
  try {
    const u = new URL(value)
    if (!protocols.includes(u.protocol)) return { error: `must use ${protocols.join(' or ')}` }
    return { value: value.replace(/\/+$/, '') }
  } catch {
    return { error: 'is not a URL' }
  }
}
const port = (value: string) => {
  const n = Number(value)
  return Number.isInteger(n) && n >= 0 && n < 65536 ? { value: n } : { error: 'must be a port number' }
}
const email = (value: string) =>
  /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/.test(value) ? { value: value.toLowerCase() } : { error: 'is not an e-mail address' }
const userPass = (value: string) =>
  /^[^:]+:.+$/.test(value) ? { value } : { error: 'must be user:password' }
const nonEmpty = (value: string) => value.trim() !== '' ? { value } : { error: 'must not be empty' }
const oneOf = (...allowed: string[]) => (value: string) =>
  allowed.includes(value) ? { value } : { error: `must be one of ${allowed.join(', ')}` }
/** `500ms`, `30s`, `15m`, `24h`, `7d` -> milliseconds. */
function parseDuration (value: string): number | undefined {
  const m = /^(\d{1,9})(ms|s|m|h|d)$/.exec(value.trim())
  if (m === null) return undefined
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd']
  return Number(m[1]) * unit
}
const duration = (value: string) => {
  const ms = parseDuration(value)
  return ms === undefined || ms <= 0 ? { error: 'must be a duration such as 30s, 24h or 7d' } : { value: ms }
}
const durations = (count: number) => (value: string) => {
  const list = value.split(',').map((v) => parseDuration(v))
  if (list.length !== count || list.some((ms) => ms === undefined || ms <= 0)) return { error: `must be ${count} comma-separated durations such as 24h,7d,21d` }
  return { value: list as number[] }
}
const prefix = (value: string) =>
  /^[A-Za-z0-9_-]+$/.test(value) ? { value } : { error: 'letters, digits, _ and - only (no ":")' }
const emailList = (value: string) => {
  const list = value.split(',').map((v) => v.trim()).filter((v) => v !== '')
  const bad = list.filter((v) => 'error' in email(v))
  return bad.length === 0 ? { value: list.map((v) => v.toLowerCase()) } : { error: `holds something that is not an e-mail address: ${bad.join(', ')}` }
}
const topicArns = (value: string) => {
  const list = value.split(',').map((v) => v.trim()).filter((v) => v !== '')
  return list.length > 0 && list.every((v) => /^arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/.test(v)) ? { value: list } : { error: 'must be SNS topic ARNs (arn:aws:sns:<region>:<account>:<topic>), comma-separated' }
}
const bool = (value: string) =>
  /^(true|false|1|0|yes|no)$/i.test(value) ? { value: /^(true|1|yes)$/i.test(value) } : { error: 'must be true or false' }
const intRange = (min: number, max: number) => (value: string) => {
  const n = Number(value)
  return Number.isInteger(n) && n >= min && n <= max ? { value: n } : { error: `must be an integer ${min}-${max}` }
}
const rate = (value: string) => {
  const m = /^(\d{1,9})\/(\d{1,9})$/.exec(value.trim())
  return m !== null && Number(m[1]) > 0 && Number(m[2]) > 0 ? { value: { max: Number(m[1]), windowSeconds: Number(m[2]) } } : { error: 'must be count/seconds, e.g. 20/3600' }
}

export const settings = [
  { env: 'NODE_ENV', default: 'development', doc: '`production` refuses embedded defaults that would lose or fake work', parse: oneOf('development', 'production', 'test') },
  { env: 'PORT', default: '8080', doc: 'HTTP listener port', parse: port },
  { env: 'HOST', default: '0.0.0.0', doc: 'HTTP listener address', parse: nonEmpty },
  { env: 'PUBLIC_URL', default: 'http://localhost:8080', doc: 'base URL used in security.txt, key links, mails', parse: url(['http:', 'https:']) },
  { env: 'SECURITY_EMAIL', default: 'security@stacklok.com', doc: 'the intake address; its domain is the WKD domain', parse: email },
  { env: 'REDIS_URL', doc: 'BullMQ and all state (default `redis://127.0.0.1:6379`; in development a local `redis-server` is started when none answers)', parse: url(['redis:', 'rediss:']) },
  { env: 'QUEUE_PREFIX', default: 'intake', doc: 'BullMQ prefix, so several deployments/tests can share a Redis', parse: prefix },
  { env: 'PGP_PRIVATE_KEY_FILE', doc: 'armored secret key(s) file, outside KEYS_DIR; several keys allowed (rotation: all decrypt; KEYS_DIR decides what is published)', parse: nonEmpty },
  { env: 'PGP_PRIVATE_KEY', doc: 'armored secret key(s) inline, instead of the file', parse: nonEmpty, secret: true },
  { env: 'PGP_PASSPHRASE', doc: 'passphrase for the secret key(s)', secret: true },
  { env: 'KEYS_DIR', default: 'keys', doc: 'public keys to publish (and the dev key, if generated)', parse: nonEmpty },
  { env: 'SECURITY_POLICY_URL', doc: '`Policy:` of security.txt: the disclosure policy (SECURITY.md) URL; unset = no Policy line', parse: url(['https:', 'http:']) },
  { env: 'SECURITY_ACKNOWLEDGMENTS_URL', doc: '`Acknowledgments:` of security.txt (hall of fame URL); unset = none', parse: url(['https:', 'http:']) },
  { env: 'SECURITY_PREFERRED_LANGUAGES', default: 'en', doc: '`Preferred-Languages:` of security.txt (comma-separated language tags)', parse: (v: string) => /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*(\s*,\s*[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*)*$/.test(v) ? { value: v.replace(/\s+/g, '').split(',').join(', ') } : { error: 'must be comma-separated language tags (en, de, fr)' } },
  { env: 'SECURITY_TXT_EXPIRES_DAYS', default: '90', doc: 'days ahead of security.txt\'s `Expires` (re-signed hourly by the worker; never past the key\'s expiry)', parse: (v: string) => { const n = Number(v); return Number.isInteger(n) && n >= 1 && n <= 365 ? { value: n } : { error: 'must be an integer 1-365' } } },
  { env: 'SEAL_PUBLIC_KEY', doc: 'X25519 public key (base64url) the web role seals raw messages to before they enter Redis; derived from `SEAL_PRIVATE_KEY` when only that is set', parse: nonEmpty },
  { env: 'SEAL_PRIVATE_KEY', doc: 'X25519 private key (base64url) the worker opens sealed messages with; `npm run intake -- seal-keygen` makes a pair', parse: nonEmpty, secret: true },
  { env: 'GITHUB_API_URL', default: 'https://api.github.com', doc: 'API base (GitHub Enterprise, tests)', parse: url(['http:', 'https:']) },
  { env: 'GITHUB_TOKEN', doc: 'token auth (`repository_advisories:write`); unset = advisories go to the outbox', parse: nonEmpty, secret: true },
  { env: 'GITHUB_APP_ID', doc: 'GitHub App auth (with the two below), instead of a token', parse: nonEmpty },
  { env: 'GITHUB_APP_PRIVATE_KEY', doc: 'GitHub App private key (PEM)', parse: nonEmpty, secret: true },
  { env: 'GITHUB_APP_INSTALLATION_ID', doc: 'GitHub App installation id', parse: nonEmpty },
  { env: 'GITHUB_OWNER', doc: 'organisation that owns the repositories', parse: nonEmpty },
  { env: 'GITHUB_DEFAULT_REPO', doc: 'repository for reports that name no known repository', parse: nonEmpty },
  { env: 'SMTP_URL', doc: 'e.g. `smtp://user:pass@host:587`; unset = write .eml files to the outbox', parse: url(['smtp:', 'smtps:']), secret: true },
  { env: 'MAIL_FROM', doc: 'From of acknowledgements (default `SECURITY_EMAIL`)', parse: nonEmpty },
  { env: 'TEAM_NOTIFY_EMAIL', doc: 'where the team is told that a report arrived (no report content in it)', parse: email },
  { env: 'TEAM_NOTIFY_KEYS_FILE', doc: 'armored public keys of the team members: team mail is then PGP/MIME-encrypted to them (and signed with the team key)', parse: nonEmpty },
  { env: 'TEMPLATES_DIR', doc: 'directory of message templates (`acknowledgement.txt`, ...) overriding the built-in `templates/`; files missing there fall back to the built-in ones', parse: nonEmpty },
  { env: 'DKIM_PRIVATE_KEY', doc: 'PEM private key (inline, or a path to a file): outgoing mail is DKIM-signed when this and `DKIM_SELECTOR` are set', parse: nonEmpty, secret: true },
  { env: 'DKIM_SELECTOR', doc: 'DKIM selector (the DNS record is `<selector>._domainkey.<domain>`)', parse: nonEmpty },
  { env: 'DKIM_DOMAIN', doc: 'DKIM signing domain (default: the domain of `MAIL_FROM`)', parse: nonEmpty },
  { env: 'AUTO_REPLY_WINDOW', default: '3d', doc: 'RFC 3834: the same kind of automatic reply goes to the same sender at most once per window', parse: duration },
  { env: 'AUTO_REPLY_MAX_PER_HOUR', default: '120', doc: 'acknowledgements and could-not-decrypt replies to anyone per hour: From is not authenticated, so this bounds what a flood of forged senders can make us send', parse: (v: string) => { const n = Number(v); return Number.isInteger(n) && n > 0 ? { value: n } : { error: 'must be a positive integer' } } },
  { env: 'AUTO_REPLY_RESERVED_PERCENT', default: '25', doc: 'percent of `AUTO_REPLY_MAX_PER_HOUR` kept for authenticated senders (DMARC pass reported by the provider, or a signature by a key on record): forged senders cannot use it up', parse: intRange(0, 90) },
  { env: 'AUTO_REPLY_ACK_LIMIT', default: '3', doc: 'acknowledgements of distinct reports one sender gets per `AUTO_REPLY_WINDOW` (a responder that ignores RFC 3834 stops there)', parse: (v: string) => { const n = Number(v); return Number.isInteger(n) && n > 0 && n <= 100 ? { value: n } : { error: 'must be an integer 1-100' } } },
  { env: 'REMINDER_DELAYS', default: '24h,7d,21d', doc: 'team reminders after a report (SECURITY.md: fix team within 24 h, fix within 7 days, release within 21 days); each checks the advisory first and stops once it is published or closed', parse: durations(3) },
  { env: 'REMINDER_DELAYS_URGENT', default: '2h,1d,3d', doc: 'the same for urgent (publicly disclosed) reports: "all timelines become ASAP"', parse: durations(3) },
  { env: 'REMINDER_REPEAT', default: '7d', doc: 'after the last reminder, how often an unpublished advisory is checked (and the team reminded) again, 8 times at most', parse: duration },
  { env: 'PRIVATE_FORK_POLICY', default: 'never', doc: 'when a draft advisory is filed with a temporary private fork (`start_private_fork`): `never`, `always`, or a severity meaning that or higher (`high` = high or critical), judged on the severity it is filed with (the CVSS vector\'s band, else the stated severity; unknown = no fork). Otherwise `npm run intake -- advisory fork <GHSA>`', parse: oneOf('never', 'always', 'low', 'medium', 'high', 'critical') },
  { env: 'RETROSPECTIVE_DELAY', default: '2d', doc: 'after publication, when the team is reminded of the retrospective (SECURITY.md: 1-3 days after release)', parse: duration },
  { env: 'OUTBOX_DIR', default: 'outbox', doc: 'embedded sinks: `outbox/advisories/*.json`, `outbox/mail/*.eml`', parse: nonEmpty },
  { env: 'DATA_DIR', default: '.data', doc: 'development state: dev secrets, the child Redis', parse: nonEmpty },
  { env: 'INBOUND_SECRET', doc: 'HMAC secret of `POST /inbound/raw` (development: generated into `.data/dev-secrets`)', parse: nonEmpty, secret: true },
  { env: 'MAILGUN_SIGNING_KEY', doc: 'enables `/inbound/mailgun/mime`', parse: nonEmpty, secret: true },
  { env: 'INBOUND_BASIC_AUTH', doc: '`user:password` for SendGrid and Postmark endpoints', parse: userPass, secret: true },
  { env: 'SECURITY_ALIASES', doc: 'comma-separated addresses also accepted as the intake address; provider mail to any other recipient is dropped (answered so the provider stops retrying, counted, not queued)', parse: emailList },
  { env: 'SES_TOPIC_ARN', doc: 'enables `POST /inbound/ses`: the SNS topic (or comma-separated topics) whose signed messages are accepted', parse: topicArns },
  { env: 'SES_CONFIRM_SUBSCRIPTION', default: 'false', doc: '`true`: confirm an SNS SubscriptionConfirmation by fetching its `SubscribeURL`; `false`: log the URL for the operator', parse: bool },
  { env: 'INBOUND_MAX_MB', default: '40', doc: 'largest request an inbound endpoint reads, in MiB (413 above it)', parse: intRange(1, 200) },
  { env: 'WEB_MEMORY_MB', doc: 'memory the web role may use, in MiB; request bodies in flight are admitted within it (503 + Retry-After beyond). Default: the container\'s cgroup limit, else the machine\'s memory', parse: intRange(128, 1_048_576) },
  { env: 'INBOUND_RATE_LIMIT', default: '120/60', doc: 'requests per client IP on the inbound routes, as `count/seconds` (Redis-backed; 429 above it)', parse: rate },
  { env: 'TRUST_PROXY', default: '0', doc: 'reverse proxies in front of the gateway whose `X-Forwarded-For` entry is trusted for the client IP (per-IP limits, logs): 0 = the socket address is the client (a client-set header is ignored); 1 behind one proxy such as Fly\'s', parse: (v: string) => { const n = Number(v); return Number.isInteger(n) && n >= 0 && n <= 10 ? { value: n } : { error: 'must be an integer 0-10' } } },
  { env: 'INBOUND_RATE_LIMIT_EXEMPT', default: '127.0.0.1,::1,::ffff:127.0.0.1', doc: 'client IPs the per-IP limit does not apply to (comma-separated; a relay on this host). Behind a reverse proxy that does not set `X-Forwarded-For` every client looks like the proxy: remove its address here', parse: (v: string) => ({ value: v.split(',').map((x) => x.trim()).filter((x) => x !== '') }) },
  { env: 'SPAM_SCORE_THRESHOLD', default: '5', doc: 'a provider spam score above this quarantines the message (no advisory, no acknowledgement)', parse: (v: string) => Number.isFinite(Number(v)) && v.trim() !== '' ? { value: Number(v) } : { error: 'must be a number' } },
  { env: 'SENDER_RATE_LIMIT', default: '20/3600', doc: 'reports per sender address as `count/seconds`; above it they are quarantined (senders are counted by a keyed hash, never by address)', parse: rate },
  { env: 'ADMIN_BASIC_AUTH', doc: '`user:password` for `/admin/*` and `/metrics`; unset = those routes disabled in production, open on loopback only in development', parse: userPass, secret: true },
  { env: 'METRICS_PORT', doc: 'a second listener for `/metrics`, `/healthz`, `/readyz` (how a worker-only process exposes its metrics; same `ADMIN_BASIC_AUTH`)', parse: port },
  { env: 'METRICS_PORT_OPEN', default: 'false', doc: '`true` serves `/metrics` on `METRICS_PORT` without authentication, for a scraper on a private network (Fly\'s `[metrics]`); never for a published port', parse: oneOf('true', 'false') },
  { env: 'DASHBOARD_READ_ONLY', default: 'true', doc: '`false` lets `/admin/queues` retry, promote and remove jobs', parse: oneOf('true', 'false') },
  { env: 'SHUTDOWN_TIMEOUT_MS', default: '20000', doc: 'on SIGTERM, how long running jobs may take to finish before they go back to the queue', parse: (v: string) => { const n = Number(v); return Number.isInteger(n) && n >= 0 ? { value: n } : { error: 'must be a non-negative integer' } } },
  { env: 'MAX_EVENT_LOOP_DELAY_MS', default: '1000', doc: 'event-loop delay above which HTTP requests are shed with 503 + Retry-After (`@fastify/under-pressure`)', parse: (v: string) => { const n = Number(v); return Number.isInteger(n) && n > 0 ? { value: n } : { error: 'must be a positive integer' } } },
  { env: 'GITHUB_WRITE_INTERVAL_MS', default: '1000', doc: 'least time between two advisory writes to GitHub (its guidance: about one content-creating request per second)', parse: (v: string) => { const n = Number(v); return Number.isInteger(n) && n >= 0 ? { value: n } : { error: 'must be a non-negative integer' } } },
  { env: 'GITHUB_WEBHOOK_SECRET', doc: 'enables `POST /github/webhook`', parse: nonEmpty, secret: true },
  { env: 'ROUTING_FILE', doc: 'repositories, aliases and package names used to route reports', parse: nonEmpty },
  { env: 'DISTRIBUTORS_FILE', doc: 'YAML list of the Private Distributors (`name`, `email`, `key`: armored public key file relative to it, or `key_armored`) for `advisory notify-distributors`', parse: nonEmpty },
  { env: 'DISCORD_WEBHOOK_URL', doc: 'release announcements, posted only after an advisory is published', parse: url(['https:', 'http:']), secret: true },
  { env: 'NOTIFY_WEBHOOK_URL', doc: 'content-free "report received" notices to a team chat', parse: url(['https:', 'http:']), secret: true },
  { env: 'WORKER_CONCURRENCY', default: '4', doc: 'reports processed in parallel by one worker process', parse: (v: string) => { const n = Number(v); return Number.isInteger(n) && n > 0 && n <= 64 ? { value: n } : { error: 'must be an integer 1-64' } } },
  { env: 'DECRYPT_THREADS', default: '2', doc: 'worker threads that open reports (decrypt, verify, MIME parse, HTML to text; each holds the team keys and has a heap limit from `WORKER_MEMORY_MB`), so a large message never blocks the event loop; at most one per 512 MiB of the memory limit; started by the first report and ended after 60 s without one (a running thread costs ~30-40 MiB); 0 opens on the main thread', parse: (v: string) => { const n = Number(v); return Number.isInteger(n) && n >= 0 && n <= 16 ? { value: n } : { error: 'must be an integer 0-16' } } },
  { env: 'WORKER_MEMORY_MB', doc: 'the worker\'s memory budget; work is admitted by bytes within it. Default: the container\'s memory limit (cgroup v2 `memory.max` or v1 `memory.limit_in_bytes`), else the machine\'s memory; the process\'s own baseline at start and a tenth of the limit (headroom) are taken off', parse: intRange(64, 1_048_576) },
  { env: 'JOB_ATTEMPTS', default: '8', doc: 'tries per report before it is quarantined', parse: (v: string) => { const n = Number(v); return Number.isInteger(n) && n > 0 && n <= 50 ? { value: n } : { error: 'must be an integer 1-50' } } },
  { env: 'JOB_BACKOFF_MS', default: '5000', doc: 'first retry delay; doubles on each attempt', parse: (v: string) => { const n = Number(v); return Number.isInteger(n) && n >= 0 ? { value: n } : { error: 'must be a non-negative integer' } } },
  { env: 'SEALED_TTL_DAYS', default: '90', doc: 'days a processed report\'s original stays sealed in Redis (for `intake export`: attachments, full text); quarantined ones stay until resolved', parse: (v: string) => { const n = Number(v); return Number.isInteger(n) && n > 0 ? { value: n } : { error: 'must be a positive integer' } } },
  { env: 'ATTACHMENT_INLINE_BYTES', default: '16384', doc: 'text-like attachments (logs, scripts, patches) up to this size are shown inline in the advisory; others are listed with SHA-256 (`npm run intake -- attachment <id> <n>`); 0 = none inline', parse: (v: string) => { const n = Number(v); return Number.isInteger(n) && n >= 0 && n <= 60_000 ? { value: n } : { error: 'must be an integer 0-60000' } } },
  { env: 'LOG_LEVEL', default: 'info', doc: 'pino level', parse: oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent') }
] as const satisfies readonly Setting[]

export interface Config {
  production: boolean
  nodeEnv: 'development' | 'production' | 'test'
  port: number
  host: string
  publicUrl: string
  securityEmail: string
  redisUrl: string
  /** True when REDIS_URL was not set (development may then start its own Redis). */
  redisUrlDefaulted: boolean
  queuePrefix: string
  pgp: { privateKeyFile?: string, privateKey?: string, passphrase?: string }
  keysDir: string
  securityTxt: { policyUrl?: string, acknowledgmentsUrl?: string, preferredLanguages: string, expiresDays: number }
  seal: { publicKey?: string, privateKey?: string }
  github: {
    apiUrl: string
    token?: string
    app?: { appId: string, privateKey: string, installationId: string }
    owner?: string
    defaultRepo?: string
  }
  smtpUrl?: string
  mailFrom: string
  teamNotifyEmail?: string
  teamNotifyKeysFile?: string
  templatesDir?: string
  dkim?: { privateKey: string, selector: string, domain: string }
  autoReply: { windowMs: number, ackLimit: number, maxPerHour: number, reservedPercent: number }
  timeline: { delaysMs: number[], urgentDelaysMs: number[], repeatMs: number, retrospectiveMs: number }
  privateForkPolicy: PrivateForkPolicy
  outboxDir: string
  dataDir: string
  inboundSecret?: string
  mailgunSigningKey?: string
  inboundBasicAuth?: string
  adminBasicAuth?: string
  githubWebhookSecret?: string
  /** Lower-case addresses accepted besides securityEmail. */
  securityAliases: string[]
  sesTopicArns?: string[]
  sesConfirmSubscription: boolean
  inboundMaxBytes: number
  /** WEB_MEMORY_MB; unset: derived from the cgroup limit at start (ops/memory.ts). */
  webMemoryMb?: number
  inboundRateLimit: { max: number, windowSeconds: number }
  inboundRateLimitExempt: string[]
  /** Proxy hops trusted for X-Forwarded-For; 0 = never (Fastify's `trustProxy`). */
  trustProxy: number
  spamScoreThreshold: number
  senderRateLimit: { max: number, windowSeconds: number }
  routingFile?: string
  distributorsFile?: string
  discordWebhookUrl?: string
  notifyWebhookUrl?: string
  workerConcurrency: number
  decryptThreads: number
  /** WORKER_MEMORY_MB; absent: the container's limit (src/ops/memory.ts). */
  workerMemoryMb?: number
  jobAttempts: number
  jobBackoffMs: number
  sealedTtlDays: number
  attachmentInlineBytes: number
  logLevel: string
  metricsPort?: number
  dashboardReadOnly: boolean
  shutdownTimeoutMs: number
  maxEventLoopDelayMs: number
  githubWriteIntervalMs: number
  metricsPortOpen: boolean
}

export class ConfigError extends Error {
  constructor (readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

/** Parses and validates `env`; throws ConfigError listing every problem. */
export function loadConfig (env: Env = process.env, role: Role = 'all'): Config {
  const problems: string[] = []
  const values = new Map<string, unknown>()
  for (const s of settings as readonly Setting[]) {
    const raw = env[s.env] === '' ? undefined : env[s.env] ?? s.default
    if (raw === undefined) continue
    const parsed = s.parse ? s.parse(raw) : { value: raw }
    if ('error' in parsed) problems.push(`${s.env} ${parsed.error}`)
    else values.set(s.env, parsed.value)
  }
  const get = <T = string>(name: string) => values.get(name) as T | undefined
  const nodeEnv = get<Config['nodeEnv']>('NODE_ENV') ?? 'development'
  const production = nodeEnv === 'production'

  const appParts = ['GITHUB_APP_ID', 'GITHUB_APP_PRIVATE_KEY', 'GITHUB_APP_INSTALLATION_ID'].filter((n) => values.has(n))
  if (appParts.length > 0 && appParts.length < 3) problems.push('GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY and GITHUB_APP_INSTALLATION_ID must be set together')
  const githubAuth = values.has('GITHUB_TOKEN') || appParts.length === 3
  if (githubAuth && (!values.has('GITHUB_OWNER') || !values.has('GITHUB_DEFAULT_REPO'))) {
    problems.push('GITHUB_OWNER and GITHUB_DEFAULT_REPO are required when GitHub credentials are set')
  }
  if (values.has('DKIM_PRIVATE_KEY') !== values.has('DKIM_SELECTOR')) problems.push('DKIM_PRIVATE_KEY and DKIM_SELECTOR must be set together')
  if (values.has('PGP_PRIVATE_KEY') && values.has('PGP_PRIVATE_KEY_FILE')) problems.push('set PGP_PRIVATE_KEY or PGP_PRIVATE_KEY_FILE, not both')
  if (values.has('PGP_PRIVATE_KEY_FILE') && isInside(String(values.get('KEYS_DIR')), String(values.get('PGP_PRIVATE_KEY_FILE')))) {
    problems.push('PGP_PRIVATE_KEY_FILE must not be inside KEYS_DIR: that directory is committed, published and read by the web role')
  }

  if (production) {
    // Embedded defaults fake work (dev key, outbox) or lose it: refuse them outright.
    // Each role is checked for what it uses: the web role never needs the PGP key.
    const has = (name: string) => values.has(name)
    if (!has('REDIS_URL')) problems.push('production: REDIS_URL is required')
    if (role !== 'worker') {
      for (const name of ['INBOUND_SECRET', 'MAILGUN_SIGNING_KEY', 'GITHUB_WEBHOOK_SECRET']) {
        const value = values.get(name)
        if (typeof value === 'string' && value.length < 16) problems.push(`production: ${name} is too short to be a secret (16 characters at least)`)
      }
      if (!has('INBOUND_SECRET') && !has('MAILGUN_SIGNING_KEY') && !has('INBOUND_BASIC_AUTH') && !has('SES_TOPIC_ARN')) problems.push('production: at least one inbound secret (INBOUND_SECRET, MAILGUN_SIGNING_KEY, INBOUND_BASIC_AUTH, SES_TOPIC_ARN) is required')
      if (!has('SEAL_PUBLIC_KEY') && !(role === 'all' && has('SEAL_PRIVATE_KEY'))) problems.push('production: SEAL_PUBLIC_KEY is required (the web role seals every message to it)')
    }
    if (role === 'web') {
      // A split web role must not even have the worker's secrets in its environment: the
      // private keys, GitHub credentials, and the mail credentials only the worker sends with.
      for (const name of ['SEAL_PRIVATE_KEY', 'PGP_PRIVATE_KEY', 'PGP_PASSPHRASE', 'GITHUB_TOKEN', 'GITHUB_APP_PRIVATE_KEY', 'SMTP_URL', 'DKIM_PRIVATE_KEY']) {
        if (has(name)) problems.push(`production: the web role must not be given ${name} (it belongs to the worker)`)
      }
    }
    if (role !== 'web') {
      if (!has('PGP_PRIVATE_KEY') && !has('PGP_PRIVATE_KEY_FILE')) problems.push('production: PGP_PRIVATE_KEY_FILE or PGP_PRIVATE_KEY is required (no development key in production)')
      if (!githubAuth) problems.push('production: GITHUB_TOKEN (or a GitHub App) is required (no outbox in production)')
      if (!has('SMTP_URL')) problems.push('production: SMTP_URL is required (no outbox in production)')
      if (!has('SEAL_PRIVATE_KEY')) problems.push('production: SEAL_PRIVATE_KEY is required (the worker opens sealed messages with it)')
    }
  }
  if (problems.length > 0) throw new ConfigError(problems)

  const securityEmail = get('SECURITY_EMAIL') as string
  const config: Config = {
    production,
    nodeEnv,
    port: get<number>('PORT') as number,
    host: get('HOST') as string,
    publicUrl: get('PUBLIC_URL') as string,
    securityEmail,
    redisUrl: get('REDIS_URL') ?? 'redis://127.0.0.1:6379',
    redisUrlDefaulted: !values.has('REDIS_URL'),
    queuePrefix: get('QUEUE_PREFIX') as string,
    pgp: omitUndefined({ privateKeyFile: get('PGP_PRIVATE_KEY_FILE'), privateKey: get('PGP_PRIVATE_KEY'), passphrase: get('PGP_PASSPHRASE') }),
    keysDir: get('KEYS_DIR') as string,
    securityTxt: {
      ...omitUndefined({ policyUrl: get('SECURITY_POLICY_URL'), acknowledgmentsUrl: get('SECURITY_ACKNOWLEDGMENTS_URL') }),
      preferredLanguages: get('SECURITY_PREFERRED_LANGUAGES') as string,
      expiresDays: get<number>('SECURITY_TXT_EXPIRES_DAYS') as number
    },
    seal: omitUndefined({ publicKey: get('SEAL_PUBLIC_KEY'), privateKey: get('SEAL_PRIVATE_KEY') }),
    github: omitUndefined({
      apiUrl: get('GITHUB_API_URL') as string,
      token: get('GITHUB_TOKEN'),
      app: appParts.length === 3
        ? { appId: get('GITHUB_APP_ID') as string, privateKey: get('GITHUB_APP_PRIVATE_KEY') as string, installationId: get('GITHUB_APP_INSTALLATION_ID') as string }
        : undefined,
      owner: get('GITHUB_OWNER'),
      defaultRepo: get('GITHUB_DEFAULT_REPO')
    }),
    mailFrom: get('MAIL_FROM') ?? securityEmail,
    autoReply: { windowMs: get<number>('AUTO_REPLY_WINDOW') as number, ackLimit: get<number>('AUTO_REPLY_ACK_LIMIT') as number, maxPerHour: get<number>('AUTO_REPLY_MAX_PER_HOUR') as number, reservedPercent: get<number>('AUTO_REPLY_RESERVED_PERCENT') as number },
    timeline: {
      delaysMs: get<number[]>('REMINDER_DELAYS') as number[],
      urgentDelaysMs: get<number[]>('REMINDER_DELAYS_URGENT') as number[],
      repeatMs: get<number>('REMINDER_REPEAT') as number,
      retrospectiveMs: get<number>('RETROSPECTIVE_DELAY') as number
    },
    privateForkPolicy: get<PrivateForkPolicy>('PRIVATE_FORK_POLICY') as PrivateForkPolicy,
    outboxDir: get('OUTBOX_DIR') as string,
    dataDir: get('DATA_DIR') as string,
    workerConcurrency: get<number>('WORKER_CONCURRENCY') as number,
    decryptThreads: get<number>('DECRYPT_THREADS') as number,
    jobAttempts: get<number>('JOB_ATTEMPTS') as number,
    jobBackoffMs: get<number>('JOB_BACKOFF_MS') as number,
    sealedTtlDays: get<number>('SEALED_TTL_DAYS') as number,
    attachmentInlineBytes: get<number>('ATTACHMENT_INLINE_BYTES') as number,
    logLevel: get('LOG_LEVEL') as string,
    securityAliases: get<string[]>('SECURITY_ALIASES') ?? [],
    sesConfirmSubscription: get<boolean>('SES_CONFIRM_SUBSCRIPTION') as boolean,
    inboundMaxBytes: (get<number>('INBOUND_MAX_MB') as number) * 1024 * 1024,
    inboundRateLimit: get<Config['inboundRateLimit']>('INBOUND_RATE_LIMIT') as Config['inboundRateLimit'],
    inboundRateLimitExempt: get<string[]>('INBOUND_RATE_LIMIT_EXEMPT') ?? [],
    trustProxy: get<number>('TRUST_PROXY') as number,
    spamScoreThreshold: get<number>('SPAM_SCORE_THRESHOLD') as number,
    senderRateLimit: get<Config['senderRateLimit']>('SENDER_RATE_LIMIT') as Config['senderRateLimit'],
    dashboardReadOnly: get('DASHBOARD_READ_ONLY') !== 'false',
    shutdownTimeoutMs: get<number>('SHUTDOWN_TIMEOUT_MS') as number,
    maxEventLoopDelayMs: get<number>('MAX_EVENT_LOOP_DELAY_MS') as number,
    githubWriteIntervalMs: get<number>('GITHUB_WRITE_INTERVAL_MS') as number,
    metricsPortOpen: get('METRICS_PORT_OPEN') === 'true',
    ...(omitUndefined({
      webMemoryMb: get<number>('WEB_MEMORY_MB'),
      smtpUrl: get('SMTP_URL'),
      teamNotifyEmail: get('TEAM_NOTIFY_EMAIL'),
      teamNotifyKeysFile: get('TEAM_NOTIFY_KEYS_FILE'),
      templatesDir: get('TEMPLATES_DIR'),
      dkim: values.has('DKIM_PRIVATE_KEY') && values.has('DKIM_SELECTOR')
        ? { privateKey: get('DKIM_PRIVATE_KEY') as string, selector: get('DKIM_SELECTOR') as string, domain: get('DKIM_DOMAIN') ?? domainOfAddress(get('MAIL_FROM') ?? securityEmail) }
        : undefined,
      inboundSecret: get('INBOUND_SECRET'),
      mailgunSigningKey: get('MAILGUN_SIGNING_KEY'),
      inboundBasicAuth: get('INBOUND_BASIC_AUTH'),
      adminBasicAuth: get('ADMIN_BASIC_AUTH'),
      githubWebhookSecret: get('GITHUB_WEBHOOK_SECRET'),
      sesTopicArns: get<string[]>('SES_TOPIC_ARN'),
      routingFile: get('ROUTING_FILE'),
      distributorsFile: get('DISTRIBUTORS_FILE'),
      discordWebhookUrl: get('DISCORD_WEBHOOK_URL'),
      notifyWebhookUrl: get('NOTIFY_WEBHOOK_URL'),
      metricsPort: get<number>('METRICS_PORT'),
      workerMemoryMb: get<number>('WORKER_MEMORY_MB')
    }) as Partial<Config>)
  }
  return deepFreeze(config)
}

function domainOfAddress (value: string): string {
  const address = /<([^<>]*)>\s*$/.exec(value)?.[1] ?? value
  return address.slice(address.lastIndexOf('@') + 1).trim().toLowerCase()
}

function omitUndefined<T extends Record<string, unknown>> (obj: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as never
}

function deepFreeze<T> (obj: T): T {
  for (const v of Object.values(obj as object)) if (v !== null && typeof v === 'object') deepFreeze(v)
  return Object.freeze(obj)
}

/** True when GitHub credentials are configured (otherwise advisories go to the outbox). */
export function hasGithub (config: Config): boolean {
  return config.github.token !== undefined || config.github.app !== undefined
}
