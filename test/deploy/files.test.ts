// Docker cannot run here, so the deployment files are checked against the code: fly.toml
// parsed as TOML (processes, ports, checks, env), the Dockerfile's stages and runtime
// rules, and .dockerignore keeping every secret out of the build context.
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { parse } from 'smol-toml'
import dockerignore from '@balena/dockerignore'
import { ConfigError, loadConfig, settings } from '../../src/config.js'
import { buildWeb } from '../../src/roles/web.js'
import { createLogger } from '../../src/log.js'
import { generateSealKeyPair, importPublicKey } from '../../src/seal/hpke.js'
import { dropPrefix, uniquePrefix } from '../helpers/redis.js'

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }
const fly = parse(readFileSync('fly.toml', 'utf8')) as any // eslint-disable-line @typescript-eslint/no-explicit-any
const defaults = Object.fromEntries(settings.map((s) => [s.env, 'default' in s ? s.default : undefined]))
const secretNames = new Set<string>(settings.filter((s) => 'secret' in s && s.secret).map((s) => s.env))

interface Instruction { stage: number, op: string, args: string }

/** Dockerfile instructions (continuations joined, comments dropped), tagged by stage. */
function dockerfile (): { instructions: Instruction[], stages: Array<{ from: string, name?: string }> } {
  const text = readFileSync('Dockerfile', 'utf8').replace(/\\\n/g, ' ')
  const instructions: Instruction[] = []
  const stages: Array<{ from: string, name?: string }> = []
  for (const line of text.split('\n')) {
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) continue
    const [op = '', ...rest] = trimmed.split(/\s+/)
    const args = rest.join(' ')
    if (op.toUpperCase() === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args)
      stages.push({ from: m?.[1] ?? '', ...(m?.[2] !== undefined ? { name: m[2] } : {}) })
    }
    instructions.push({ stage: stages.length - 1, op: op.toUpperCase(), args })
  }
  return { instructions, stages }
}

t.test('fly.toml: processes are the package.json start commands', async (t) => {
  const startWeb = pkg.scripts['start:web'] as string
  const startWorker = pkg.scripts['start:worker'] as string
  t.equal(startWeb, 'node dist/main.js web')
  t.ok(fly.processes.web.endsWith(startWeb), `web runs ${startWeb}`)
  t.equal(fly.processes.worker, startWorker)
  t.same(Object.keys(fly.processes).sort(), ['web', 'worker'])
  // A smaller young generation: 15-25 MiB less idle, 50-70 MiB less at a burst's peak (BENCHMARKS.md 4).
  for (const script of ['start', 'start:worker']) t.match(pkg.scripts[script], /^node --max-semi-space-size=4 dist\/main\.js/, `${script} caps the young generation`)
})

t.test('fly.toml: the web process drops exactly what the web role must not hold', async (t) => {
  // The production loader says which variables a web role refuses; fly must unset each.
  const everything = Object.fromEntries([...secretNames].map((n) => [n, 'x'.repeat(40)]))
  let problems: string[] = []
  try {
    loadConfig({ ...everything, NODE_ENV: 'production', REDIS_URL: 'redis://r:6379', SMTP_URL: 'smtp://h:25', DISCORD_WEBHOOK_URL: 'https://x.example', NOTIFY_WEBHOOK_URL: 'https://x.example', INBOUND_BASIC_AUTH: 'a:b', ADMIN_BASIC_AUTH: 'a:b', SEAL_PUBLIC_KEY: 'k' }, 'web')
  } catch (err) {
    problems = (err as ConfigError).problems
  }
  const forbidden = problems.map((p) => /must not be given (\S+)/.exec(p)?.[1]).filter((n): n is string => n !== undefined)
  t.ok(forbidden.length >= 4, `web role refuses ${forbidden.join(', ')}`)
  const unset = [...(fly.processes.web as string).matchAll(/-u (\S+)/g)].map((m) => m[1])
  t.same(unset.sort(), [...forbidden].sort())
})

t.test('fly.toml: http_service, checks and metrics match the code', async (t) => {
  const port = Number(defaults.PORT)
  t.equal(fly.http_service.internal_port, port, 'the contract port (8080)')
  t.equal(Number(fly.env.PORT), port)
  t.equal(fly.http_service.force_https, true)
  t.same(fly.http_service.processes, ['web'])
  t.equal(fly.kill_signal, 'SIGTERM')
  t.ok(fly.kill_timeout * 1000 >= Number(fly.env.SHUTDOWN_TIMEOUT_MS) + 5000, 'Fly waits longer than the job deadline')
  t.ok(fly.kill_timeout * 1000 < Number(fly.env.SHUTDOWN_TIMEOUT_MS) + 10_000 + 1, 'and not longer than our own hard deadline')

  const metricsPort = Number(fly.env.METRICS_PORT)
  t.equal(fly.checks.worker_ready.port, metricsPort)
  t.same(fly.checks.worker_ready.processes, ['worker'])
  t.equal(fly.metrics.port, metricsPort)
  t.equal(fly.metrics.path, '/metrics')

  // Every checked path answers 200 on a real web role.
  const prefix = uniquePrefix('fly')
  t.teardown(async () => await dropPrefix(prefix))
  const seal = generateSealKeyPair()
  const web = await buildWeb({ config: loadConfig({ NODE_ENV: 'test', QUEUE_PREFIX: prefix, SEAL_PUBLIC_KEY: seal.publicKey }, 'web'), log: createLogger({ level: 'silent', production: false }), sealPublicKey: importPublicKey(seal.publicKey) })
  t.teardown(web.close)
  const paths = [...fly.http_service.checks.map((c: { path: string }) => c.path), fly.checks.worker_ready.path]
  for (const path of paths) t.equal((await web.fastify.inject({ url: path })).statusCode, 200, `${path} answers`)
})

t.test('fly.toml: [env] holds known, non-secret settings that pass production validation', async (t) => {
  for (const name of Object.keys(fly.env)) {
    t.ok(name in defaults, `${name} is a setting`)
    t.notOk(secretNames.has(name), `${name} is not a secret`)
  }
  const secrets = { REDIS_URL: 'rediss://default:pw@fly-intake-redis.upstash.io:6379', INBOUND_SECRET: 'x'.repeat(32), SEAL_PUBLIC_KEY: generateSealKeyPair().publicKey, ADMIN_BASIC_AUTH: 'ops:pw' }
  t.doesNotThrow(() => loadConfig({ ...fly.env, ...secrets }, 'web'), 'web: [env] + the documented secrets')
  const worker = { ...secrets, SEAL_PRIVATE_KEY: 'k', PGP_PRIVATE_KEY: 'armored', GITHUB_TOKEN: 't', SMTP_URL: 'smtp://u:p@smtp.example.org:587' }
  t.doesNotThrow(() => loadConfig({ ...fly.env, ...worker }, 'worker'), 'worker: [env] + the documented secrets')
  // The README lists the secrets to set; each is a setting.
  const readme = readFileSync('docs/deployment.md', 'utf8')
  const block = /fly secrets set[\s\S]*?```/.exec(readme)?.[0] ?? ''
  const named = [...block.matchAll(/\b([A-Z][A-Z0-9_]{2,})=/g)].map((m) => m[1] as string)
  t.ok(named.length >= 8, `README documents fly secrets (${named.join(' ')})`)
  for (const name of named) t.ok(name in defaults, `${name} is a setting`)
})

t.test('Dockerfile: multi-stage build, slim production runtime, non-root, tini, healthcheck', async (t) => {
  const { instructions, stages } = dockerfile()
  t.ok(stages.length >= 2, 'multi-stage')
  const build = stages.findIndex((s) => s.name === 'build')
  const runtime = stages.length - 1
  t.ok(build >= 0 && build < runtime, 'a build stage before the runtime')
  const runs = (stage: number) => instructions.filter((i) => i.stage === stage && i.op === 'RUN').map((i) => i.args).join('\n')
  t.match(runs(build), 'npm ci')
  t.match(runs(build), 'npm run build')
  t.match(runs(runtime), 'npm ci --omit=dev')
  t.notMatch(runs(runtime), 'npm run build', 'nothing compiled at run time')
  const final = instructions.filter((i) => i.stage === runtime)
  t.ok(final.some((i) => i.op === 'COPY' && /--from=build\s+\S*dist\s/.test(i.args + ' ')), 'dist copied from the build stage')
  t.notOk(final.some((i) => i.op === 'COPY' && /^\.\s/.test(i.args)), 'no COPY of the whole context into the runtime')
  // Files the compiled code reads at run time, next to dist/.
  for (const dir of ['templates', 'keys']) t.ok(final.some((i) => i.op === 'COPY' && new RegExp(`^${dir}\\s`).test(i.args)), `${dir}/ copied into the runtime`)

  const user = final.filter((i) => i.op === 'USER').at(-1)?.args
  t.ok(user !== undefined && !['root', '0', '0:0'].includes(user), `runs as ${user}`)
  const cmdAt = final.findIndex((i) => i.op === 'CMD')
  t.ok(final.findIndex((i) => i.op === 'USER') < cmdAt, 'USER before CMD')
  t.same(JSON.parse(final.find((i) => i.op === 'ENTRYPOINT')?.args ?? '[]'), ['/usr/bin/tini', '--'], 'tini is PID 1')
  t.match(runs(runtime), 'tini')
  t.same(JSON.parse(final[cmdAt]?.args ?? '[]').join(' '), pkg.scripts.start, 'CMD = npm start without the build')

  const health = final.find((i) => i.op === 'HEALTHCHECK')?.args ?? ''
  const script = /"(dist\/[^"]+\.js)"/.exec(health)?.[1]
  t.equal(script, 'dist/ops/healthcheck.js')
  t.ok(existsSync((script ?? '').replace(/^dist\//, 'src/').replace(/\.js$/, '.ts')), 'the healthcheck script is part of the build')
  const env = final.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ')
  t.match(env, 'NODE_ENV=production')
  t.match(env, `PORT=${defaults.PORT}`)
  t.match(final.filter((i) => i.op === 'EXPOSE').map((i) => i.args).join(' '), String(defaults.PORT))

  for (const i of instructions) {
    if (i.op !== 'ENV' && i.op !== 'ARG') continue
    for (const name of secretNames) t.notMatch(i.args, new RegExp(`\\b${name}=`), `no ${name} baked into a layer`)
  }
})

t.test('.dockerignore: secrets and development state never reach the build context', async (t) => {
  const ig = (dockerignore as unknown as () => { add: (p: string[]) => { ignores: (p: string) => boolean } })().add(readFileSync('.dockerignore', 'utf8').split('\n'))
  const excluded = ['keys/dev-team-key.secret.asc', 'keys/dev-team-key.pub.asc', 'keys/team.secret.asc', 'keys/team.sec.asc', '.env', '.env.production',
    '.data/dev-secrets', '.data/dev-seal.key', '.data/redis/appendonly.aof', 'outbox/mail/ack.eml', 'outbox/advisories/x.json', 'node_modules/tsx/package.json',
    'dist/main.js', 'seal.key', 'github-app.pem', '.git/config', 'test/fixtures/github-schemas.json']
  for (const path of excluded) t.ok(ig.ignores(path), `${path} excluded`)
  // What the Dockerfile copies must stay in.
  const included = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/main.ts', 'src/ops/healthcheck.ts', 'templates/acknowledgement.txt', 'keys/README.md', 'keys/team.pub.asc', 'keys/security.asc']
  for (const path of included) t.notOk(ig.ignores(path), `${path} included`)
})
