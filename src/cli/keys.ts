// `intake keys generate|show|export`: the team key's life cycle. The public half goes
// into KEYS_DIR (commit it: that is what the gateway publishes); the secret half goes to
// a 0600 file or to stdout for a secrets store, never into the repository.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { isInside } from '../domain/paths.js'
import type { Config } from '../config.js'
import { generateTeamKey, loadTeamKeyring } from '../pgp/keyring.js'
import type { TeamKeyring } from '../pgp/types.js'
import { loadPublication, publicationWarnings, type Publication } from '../keys/published.js'
import { formatFingerprint } from '../mail/messages.js'

export type Write = (s: string) => void

const usage = `usage: npm run intake -- keys <command>

  keys generate [--rsa] [--expires 2y|18m|400d] [--name NAME]
                (--secret-out FILE | --stdout)
      a new team key for SECURITY_EMAIL (v4 Ed25519/Curve25519, or RSA-4096 with --rsa;
      expiry 2 years by default; protected by PGP_PASSPHRASE when that is set). The public
      key is written to KEYS_DIR/<fingerprint>.asc; the secret key to FILE (mode 0600,
      never overwritten) or to stdout, for a secrets store (PGP_PRIVATE_KEY[_FILE]).
  keys show     published keys (primary, retiring, refused and why) and the configured
                secret keys, with fingerprints, algorithms and expiry
  keys export [--fingerprint FPR]
                the published keys as served at /pgp-key.asc (or one of them)
  keys export --from-secret
                write the public half of every configured secret key into KEYS_DIR
                (after adding a new key to PGP_PRIVATE_KEY[_FILE] during a rotation)
`

export async function keysCommand (config: Config, args: string[], out: Write, err: Write = (s) => process.stderr.write(s)): Promise<number> {
  const [sub, ...rest] = args
  try {
    if (sub === 'generate') return await generate(config, parseFlags(rest, ['rsa', 'stdout']), out, err)
    if (sub === 'show') return await show(config, out)
    if (sub === 'export') return await exportKeys(config, parseFlags(rest, ['from-secret']), out, err)
  } catch (e) {
    if (e instanceof UsageError) { err(`${e.message}\n`); return 2 }
    throw e
  }
  out(usage)
  return sub === undefined || sub === 'help' ? 0 : 2
}

class UsageError extends Error {}

type Flags = Map<string, string | true>

function parseFlags (args: string[], booleans: string[]): Flags {
  const flags: Flags = new Map()
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`)
    const name = arg.slice(2)
    if (booleans.includes(name)) { flags.set(name, true); continue }
    const value = args[++i]
    if (value === undefined) throw new UsageError(`--${name} needs a value`)
    flags.set(name, value)
  }
  return flags
}

/** `2y`, `18m`, `400d` or a plain number of days. */
function expiryDays (value: string): number {
  const m = /^(\d+)([ymd]?)$/.exec(value.trim())
  if (m === null) throw new UsageError(`--expires "${value}": use e.g. 2y, 18m or 400d`)
  const n = Number(m[1])
  const days = m[2] === 'y' ? n * 365 : m[2] === 'm' ? n * 30 : n
  if (days < 1 || days > 5 * 365) throw new UsageError('--expires must be between 1 day and 5 years (a key without expiry is never refused when it leaks)')
  return days
}

async function generate (config: Config, flags: Flags, out: Write, err: Write): Promise<number> {
  const secretOut = flags.get('secret-out')
  const toStdout = flags.get('stdout') === true
  if ((secretOut === undefined) === !toStdout) throw new UsageError('choose where the secret key goes: --secret-out FILE or --stdout')
  if (typeof secretOut === 'string' && isInside(config.keysDir, secretOut)) {
    throw new UsageError(`--secret-out must be outside KEYS_DIR (${config.keysDir}): that directory is committed and published`)
  }
  if (typeof secretOut === 'string' && existsSync(secretOut)) throw new UsageError(`${secretOut} exists: a secret key file is never overwritten`)
  const name = flags.get('name')
  const key = await generateTeamKey({
    email: config.securityEmail,
    name: typeof name === 'string' ? name : 'Security Team',
    type: flags.get('rsa') === true ? 'rsa4096' : 'curve25519',
    expiresInDays: expiryDays(String(flags.get('expires') ?? '2y')),
    ...(config.pgp.passphrase === undefined ? {} : { passphrase: config.pgp.passphrase })
  })
  const publicPath = join(config.keysDir, `${key.fingerprint}.asc`)
  if (typeof secretOut === 'string') writeFileSync(secretOut, key.armoredSecret, { mode: 0o600, flag: 'wx' })
  writeFileSync(publicPath, key.armoredPublic, { flag: 'wx' })
  const info = [
    `new team key ${formatFingerprint(key.fingerprint)}`,
    `public key: ${publicPath} (commit it; it becomes the published primary key as the newest valid key)`,
    typeof secretOut === 'string' ? `secret key: ${secretOut} (mode 0600): move it into your secrets store as PGP_PRIVATE_KEY_FILE / PGP_PRIVATE_KEY, then delete it` : 'secret key: on stdout',
    config.pgp.passphrase === undefined ? 'the secret key has no passphrase (set PGP_PASSPHRASE before generating to protect it)' : 'the secret key is protected by PGP_PASSPHRASE',
    'rotation: keep the old secret key configured beside the new one until mail to it has stopped; remove the old public key file to stop publishing it'
  ].join('\n') + '\n'
  if (toStdout) { out(key.armoredSecret); err(info) } else out(info)
  return 0
}

async function show (config: Config, out: Write): Promise<number> {
  const pub = await loadPublication(config.keysDir, { production: config.production })
  const secret = await configuredSecrets(config)
  const held = new Set(secret.keyring?.secretKeys.map((k) => k.getFingerprint().toUpperCase()) ?? [])
  const lines = [`published keys (KEYS_DIR=${config.keysDir}):`]
  if (pub.keys.length === 0) lines.push('  none')
  for (const k of pub.keys) {
    lines.push(`  ${k.role === 'primary' ? 'PRIMARY ' : 'retiring'}  ${formatFingerprint(k.fingerprint)}${k.development ? '  [DEVELOPMENT KEY]' : ''}`)
    lines.push(`            ${k.algorithm}; created ${day(k.created)}; ${k.expires === undefined ? 'no expiry' : `expires ${day(k.expires)}`}; ${k.userIds.join(', ')}; ${k.file}`)
    lines.push(`            secret key configured: ${secret.keyring === undefined ? 'unknown (none loaded)' : held.has(k.fingerprint) ? 'yes' : 'NO: mail encrypted to it cannot be decrypted'}`)
  }
  for (const r of pub.refused) lines.push(`  REFUSED   ${r.fingerprint === undefined ? r.file : `${formatFingerprint(r.fingerprint)} (${r.file})`}: ${r.reason}`)
  lines.push('configured secret keys (PGP_PRIVATE_KEY / PGP_PRIVATE_KEY_FILE):')
  if (secret.problem !== undefined) lines.push(`  ${secret.problem}`)
  for (const k of secret.keyring?.secretKeys ?? []) {
    const fpr = k.getFingerprint().toUpperCase()
    lines.push(`  ${formatFingerprint(fpr)}  created ${day(k.getCreationTime())}${pub.keys.some((p) => p.fingerprint === fpr) ? '' : '  (not published)'}`)
  }
  for (const w of publicationWarnings(pub)) lines.push(`warning: ${w}`)
  out(lines.join('\n') + '\n')
  return 0
}

async function configuredSecrets (config: Config): Promise<{ keyring?: TeamKeyring, problem?: string }> {
  let armored: string
  if (config.pgp.privateKey !== undefined) armored = config.pgp.privateKey
  else if (config.pgp.privateKeyFile !== undefined) armored = readFileSync(config.pgp.privateKeyFile, 'utf8')
  else return { problem: 'none configured' }
  try {
    return { keyring: await loadTeamKeyring({ armored: [armored], ...(config.pgp.passphrase === undefined ? {} : { passphrase: config.pgp.passphrase }) }) }
  } catch (e) {
    return { problem: (e as Error).message }
  }
}

async function exportKeys (config: Config, flags: Flags, out: Write, err: Write): Promise<number> {
  if (flags.get('from-secret') === true) return await exportFromSecret(config, out, err)
  const pub: Publication = await loadPublication(config.keysDir, { production: config.production })
  const wanted = flags.get('fingerprint')
  const keys = typeof wanted === 'string' ? pub.keys.filter((k) => k.fingerprint === wanted.replace(/\s+/g, '').toUpperCase()) : pub.keys
  if (keys.length === 0) { err('no published key to export (see: keys show)\n'); return 1 }
  out(keys.length === pub.keys.length ? pub.armored : keys.map((k) => k.armored).join(''))
  return 0
}

async function exportFromSecret (config: Config, out: Write, err: Write): Promise<number> {
  const secret = await configuredSecrets(config)
  if (secret.keyring === undefined) { err(`no secret keys: ${secret.problem ?? 'none configured'}\n`); return 1 }
  for (const key of secret.keyring.secretKeys) {
    const fpr = key.getFingerprint().toUpperCase()
    const path = join(config.keysDir, `${fpr}.asc`)
    try {
      writeFileSync(path, key.toPublic().armor(), { flag: 'wx' })
      out(`wrote ${path}\n`)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      out(`${path} already exists\n`)
    }
  }
  return 0
}

function day (d: Date): string {
  return d.toISOString().slice(0, 10)
}
