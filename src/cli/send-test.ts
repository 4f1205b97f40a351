// `intake send-test [--url URL] [--key FILE] [--from ADDR]`: the first end-to-end run.
// Builds a sample report, encrypts it (inline PGP) to the published team key, signs it
// for POST /inbound/raw with INBOUND_SECRET (or the development secret) and posts it to
// a running gateway; prints the intake id it answers.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createMessage, encrypt, readKey, type PublicKey } from 'openpgp'
import type { Config } from '../config.js'
import { readDevWebSecrets } from '../dev/secrets.js'
import { signRaw } from '../inbound/hmac.js'
import { publishedKey } from './published-key.js'

interface SendTestOptions {
  url: string
  from: string
  keyFile?: string
}

export async function sendTestCommand (config: Config, args: string[], out: (s: string) => void, fetchFn: typeof fetch = fetch): Promise<number> {
  const opts = parseArgs(args, config)
  if (typeof opts === 'string') { out(opts); return 2 }
  const secret = config.inboundSecret ?? devSecret(config)
  if (secret === undefined) { out('no INBOUND_SECRET set and no development secret in DATA_DIR: cannot sign for /inbound/raw\n'); return 1 }
  const key = await teamKey(opts, config, fetchFn)
  if (key === undefined) { out(`no team key: none in ${config.keysDir} and none at ${opts.url}/pgp-key.asc (use --key FILE)\n`); return 1 }
  const raw = await sampleReport(key, { from: opts.from, to: config.securityEmail })
  const ts = Math.floor(Date.now() / 1000)
  let res: Response
  try {
    res = await fetchFn(`${opts.url}/inbound/raw`, {
      method: 'POST',
      body: raw,
      headers: { 'content-type': 'message/rfc822', 'x-intake-timestamp': String(ts), 'x-intake-signature': signRaw(secret, ts, raw) }
    })
  } catch (err) {
    out(`could not reach ${opts.url}: ${(err as Error).message} (is the gateway running? npm start)\n`)
    return 1
  }
  const text = await res.text()
  if (res.status !== 200) { out(`gateway answered ${res.status}: ${text.slice(0, 200)}\n`); return 1 }
  const { id } = JSON.parse(text) as { id: string }
  out(`sent a test report encrypted to ${key.getFingerprint().toUpperCase()}\nintake id: ${id}\n`)
  return 0
}

function parseArgs (args: string[], config: Config): SendTestOptions | string {
  const opts: SendTestOptions = { url: config.publicUrl, from: 'send-test@example.org' }
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]
    const value = args[i + 1]
    if (value === undefined) return 'usage: send-test [--url URL] [--key FILE] [--from ADDRESS]\n'
    if (flag === '--url') opts.url = value.replace(/\/+$/, '')
    else if (flag === '--key') opts.keyFile = value
    else if (flag === '--from') opts.from = value
    else return `unknown option ${flag}\n`
    i++
  }
  return opts
}

function devSecret (config: Config): string | undefined {
  if (config.production) return undefined
  try { return readDevWebSecrets(config.dataDir).inboundSecret } catch { return undefined }
}

async function teamKey (opts: SendTestOptions, config: Config, fetchFn: typeof fetch): Promise<PublicKey | undefined> {
  if (opts.keyFile !== undefined) return await readKey({ armoredKey: readFileSync(opts.keyFile, 'utf8') })
  const local = await publishedKey(config).catch(() => undefined)
  if (local !== undefined) return local
  try {
    const res = await fetchFn(`${opts.url}/pgp-key.asc`)
    if (res.status !== 200) return undefined
    return await readKey({ armoredKey: (await res.text()).slice(0, 64 * 1024) })
  } catch {
    return undefined
  }
}

/** A small report, its body encrypted inline to the team key, as a reporter would send it. */
export async function sampleReport (key: PublicKey, opts: { from: string, to: string }): Promise<Buffer> {
  const token = randomBytes(6).toString('hex')
  const body = [
    'This is a test report sent by `npm run intake -- send-test`.',
    '',
    'Affected: example/widget 1.2.3',
    'Impact: none, this is a test of the intake pipeline.',
    `Test token: ${token}`
  ].join('\n')
  const armored = await encrypt({ message: await createMessage({ text: body }), encryptionKeys: key, format: 'armored' }) as string
  const lines = [
    `From: Intake send-test <${opts.from}>`,
    `To: ${opts.to}`,
    'Subject: [send-test] intake pipeline check',
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <send-test-${token}@intake.invalid>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    armored.replace(/\r?\n/g, '\r\n')
  ]
  return Buffer.from(lines.join('\r\n'))
}
