// GnuPG as a real peer, in a throw-away GNUPGHOME, plus builders for the raw RFC 5322
// messages mail clients send (PGP/MIME encrypted and signed, inline QP/base64).
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import * as openpgp from 'openpgp'

export interface GpgKey {
  fingerprint: string
  email: string
  armoredPublic: string
}

export interface Gpg {
  home: string
  run: (args: string[], input?: Buffer | string) => Promise<Buffer>
  importKey: (armored: string) => Promise<void>
  generateKey: (opts: { name: string, email: string, algo?: string, usage?: string, encryptionSubkey?: string }) => Promise<GpgKey>
  exportSecret: (fingerprint: string) => Promise<string>
  encrypt: (data: Buffer | string, opts: { to: string[], signer?: string, armor?: boolean, extra?: string[] }) => Promise<Buffer>
  sign: (data: Buffer | string, opts: { signer: string, mode: 'detach' | 'clear' | 'inline', armor?: boolean, extra?: string[] }) => Promise<Buffer>
  close: () => Promise<void>
}

export async function createGpg (): Promise<Gpg> {
  const home = await mkdtemp(join(tmpdir(), 'gpg-'))
  const base = ['--homedir', home, '--batch', '--yes', '--no-tty', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '',
    '--trust-model', 'always', '--auto-key-locate', 'local', '--no-auto-key-retrieve']
  const run = async (args: string[], input?: Buffer | string): Promise<Buffer> => await exec('gpg', [...base, ...args], input)
  const gpg: Gpg = {
    home,
    run,
    importKey: async (armored) => { await run(['--import'], armored) },
    generateKey: async ({ name, email, algo = 'ed25519', usage = 'sign', encryptionSubkey }) => {
      await run(['--quick-gen-key', `${name} <${email}>`, algo, usage, '1y'])
      const listing = (await run(['--with-colons', '--list-keys', `<${email}>`])).toString()
      const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing)?.[1]
      if (fingerprint === undefined) throw new Error(`gpg made no key for ${email}`)
      if (encryptionSubkey !== undefined) await run(['--quick-add-key', fingerprint, encryptionSubkey, 'encr', '1y'])
      const armoredPublic = (await run(['--armor', '--export', fingerprint])).toString()
      return { fingerprint, email, armoredPublic }
    },
    exportSecret: async (fingerprint) => (await run(['--armor', '--export-secret-keys', fingerprint])).toString(),
    encrypt: async (data, { to, signer, armor = true, extra = [] }) => await run([
      ...(armor ? ['--armor'] : []),
      ...to.flatMap((recipient) => ['--recipient', recipient]),
      ...(signer === undefined ? [] : ['--local-user', signer, '--sign']),
      ...extra,
      '--encrypt'
    ], data),
    sign: async (data, { signer, mode, armor = true, extra = [] }) => await run([
      ...(armor ? ['--armor'] : []),
      '--local-user', signer,
      ...extra,
      mode === 'detach' ? '--detach-sign' : mode === 'clear' ? '--clearsign' : '--sign'
    ], data),
    close: async () => {
      await exec('gpgconf', ['--homedir', home, '--kill', 'all']).catch(() => {})
      await rm(home, { recursive: true, force: true })
    }
  }
  return gpg
}

async function exec (command: string, args: string[], input?: Buffer | string): Promise<Buffer> {
  return await new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk))
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk))
    child.on('error', reject)
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out))
      else reject(new Error(`${command} ${args.filter((arg) => !arg.startsWith('/')).join(' ')} exited ${code}: ${Buffer.concat(err).toString()}`))
    })
    child.stdin.on('error', () => {})
    child.stdin.end(input)
  })
}

/** Is a command on PATH (for optional peers such as rnp)? */
export async function hasCommand (command: string): Promise<boolean> {
  return await exec(command, ['--version']).then(() => true, () => false)
}

export { exec }

// --- raw messages ------------------------------------------------------------------

export interface Envelope {
  from?: string
  to?: string
  subject?: string
  messageId?: string
  headers?: Record<string, string>
}

const crlf = '\r\n'

function envelopeLines (env: Envelope): string[] {
  return [
    `From: ${env.from ?? 'Reporter <reporter@example.net>'}`,
    `To: ${env.to ?? 'security@example.org'}`,
    `Subject: ${env.subject ?? 'Vulnerability report'}`,
    'Date: Sat, 28 Nov 2026 10:00:00 +0000',
    `Message-ID: <${env.messageId ?? `${Math.random().toString(36).slice(2)}@example.net`}>`,
    ...Object.entries(env.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    'MIME-Version: 1.0'
  ]
}

/** A whole message: envelope headers + an entity (its own headers, blank line, body). */
export function message (env: Envelope, entity: string): Buffer {
  return Buffer.from(envelopeLines(env).join(crlf) + crlf + entity)
}

export function textPart (text: string, contentType = 'text/plain; charset=utf-8'): string {
  return `Content-Type: ${contentType}${crlf}Content-Transfer-Encoding: 8bit${crlf}${crlf}${toCrlf(text)}`
}

export function attachmentPart ({ filename, contentType = 'application/octet-stream', content }: { filename: string, contentType?: string, content: Buffer | string }): string {
  const base64 = Buffer.from(content).toString('base64').replace(/.{76}/g, `$&${crlf}`)
  return [
    `Content-Type: ${contentType}; name="${filename}"`,
    `Content-Disposition: attachment; filename="${filename}"`,
    'Content-Transfer-Encoding: base64',
    '',
    base64
  ].join(crlf)
}

export function multipart (subtype: string, parts: string[], params = '', boundary = `b-${Math.random().toString(36).slice(2)}`): string {
  const head = `Content-Type: multipart/${subtype}; boundary="${boundary}"${params === '' ? '' : `; ${params}`}${crlf}${crlf}`
  return head + 'This is a multi-part message in MIME format.' + crlf + parts.map((part) => `--${boundary}${crlf}${part}${crlf}`).join('') + `--${boundary}--${crlf}`
}

/** RFC 3156 section 4: multipart/encrypted with the control part and the armored data. */
export function pgpMimeEncrypted (armored: Buffer | string, dataType = 'application/octet-stream; name="encrypted.asc"'): string {
  return multipart('encrypted', [
    `Content-Type: application/pgp-encrypted${crlf}Content-Description: PGP/MIME version identification${crlf}${crlf}Version: 1${crlf}`,
    `Content-Type: ${dataType}${crlf}Content-Description: OpenPGP encrypted message${crlf}Content-Disposition: inline; filename="encrypted.asc"${crlf}${crlf}${toCrlf(armored.toString())}`
  ], 'protocol="application/pgp-encrypted"')
}

/** RFC 3156 section 5: `signedPart` is an entity (CRLF); `signature` is armored, made over exactly those bytes. */
export function pgpMimeSigned (signedPart: string, signature: Buffer | string): string {
  return multipart('signed', [
    signedPart,
    `Content-Type: application/pgp-signature; name="signature.asc"${crlf}Content-Description: OpenPGP digital signature${crlf}${crlf}${toCrlf(signature.toString())}`
  ], 'micalg=pgp-sha512; protocol="application/pgp-signature"')
}

/** A single text/plain body in the given transfer encoding. */
export function inlineBody (text: string, encoding: 'quoted-printable' | 'base64' | '8bit', contentType = 'text/plain; charset=utf-8'): string {
  const body = encoding === 'base64'
    ? Buffer.from(toCrlf(text)).toString('base64').replace(/.{76}/g, `$&${crlf}`)
    : encoding === 'quoted-printable' ? quotedPrintable(toCrlf(text)) : toCrlf(text)
  return `Content-Type: ${contentType}${crlf}Content-Transfer-Encoding: ${encoding}${crlf}${crlf}${body}`
}

/** RFC 2045 quoted-printable: '=' and non-ASCII escaped, soft breaks at 76. */
export function quotedPrintable (text: string): string {
  return text.split(crlf).map((line) => {
    const escaped = [...Buffer.from(line)].map((byte) =>
      (byte >= 33 && byte <= 126 && byte !== 61) || byte === 32 ? String.fromCharCode(byte) : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`
    ).join('').replace(/ $/, '=20')
    const pieces: string[] = []
    let rest = escaped
    while (rest.length > 75) {
      let cut = 75
      while (rest[cut - 1] === '=' || rest[cut - 2] === '=') cut--
      pieces.push(rest.slice(0, cut) + '=')
      rest = rest.slice(cut)
    }
    pieces.push(rest)
    return pieces.join(crlf)
  }).join(crlf)
}

export function toCrlf (text: string): string {
  return text.replace(/\r?\n/g, crlf)
}

// --- openpgp.js-made messages ------------------------------------------------------

export async function openpgpEncrypt (text: string | Uint8Array, opts: { to: openpgp.PublicKey[], signingKeys?: openpgp.PrivateKey[], config?: openpgp.PartialConfig }): Promise<string> {
  const message = typeof text === 'string' ? await openpgp.createMessage({ text }) : await openpgp.createMessage({ binary: text })
  return await openpgp.encrypt({ message, encryptionKeys: opts.to, ...(opts.signingKeys === undefined ? {} : { signingKeys: opts.signingKeys }), ...(opts.config === undefined ? {} : { config: opts.config }) })
}

/** openpgp.js packet classes declare their read/write methods private; tests build packets by hand. */
interface Packet { [key: string]: unknown }
type PacketClass = new () => Packet
const packets = openpgp as unknown as Record<'LiteralDataPacket' | 'PublicKeyEncryptedSessionKeyPacket' | 'AEADEncryptedDataPacket' | 'PacketList', PacketClass>

/**
 * What GnuPG 2.4 sends to a key advertising OCB: PKESK v3 + AEAD Encrypted Data packet
 * (tag 20, LibrePGP, OCB, chunk size byte 16), built from openpgp.js' packet classes.
 */
export async function gnupgStyleOcbMessage (data: Uint8Array, recipient: openpgp.PublicKey): Promise<Uint8Array> {
  const sessionKey = randomBytes(32)
  const encryptionKey = await recipient.getEncryptionKey()
  const literal = new packets.LiteralDataPacket()
  ;(literal.setBytes as (bytes: Uint8Array, format: openpgp.enums.literal) => void).call(literal, data, openpgp.enums.literal.binary)
  const pkesk = new packets.PublicKeyEncryptedSessionKeyPacket()
  Object.assign(pkesk, {
    version: 3,
    publicKeyID: encryptionKey.getKeyID(),
    publicKeyAlgorithm: encryptionKey.keyPacket.algorithm,
    sessionKey,
    sessionKeyAlgorithm: openpgp.enums.symmetric.aes256
  })
  await (pkesk.encrypt as (key: unknown) => Promise<void>).call(pkesk, encryptionKey.keyPacket)
  const aead = new packets.AEADEncryptedDataPacket()
  const inner = new packets.PacketList() as unknown as Packet[]
  inner.push(literal)
  Object.assign(aead, { aeadAlgorithm: openpgp.enums.aead.ocb, packets: inner })
  await (aead.encrypt as (algo: number, key: Uint8Array, config: openpgp.Config) => Promise<void>)
    .call(aead, openpgp.enums.symmetric.aes256, sessionKey, { ...openpgp.config, aeadChunkSizeByte: 16 })
  const list = new packets.PacketList() as unknown as Packet[] & { write: () => Uint8Array | { readToEnd: (join: (chunks: Uint8Array[]) => Uint8Array) => Promise<Uint8Array> } }
  list.push(pkesk, aead)
  const written = list.write()
  // The AEAD payload comes back as openpgp.js' internal ArrayStream.
  return written instanceof Uint8Array ? written : await written.readToEnd((chunks) => Buffer.concat(chunks))
}

// --- the usual peer ----------------------------------------------------------------

/**
 * A GnuPG home that knows the team's public key and holds a reporter's key pair,
 * removed at teardown: the peer most tests talk to.
 */
export async function reporterPeer (t: { teardown: (fn: () => Promise<void>) => void }, teamPublicKey: string, name = 'Reporter'): Promise<{ gpg: Gpg, reporter: GpgKey, reporterKey: openpgp.PublicKey }> {
  const gpg = await createGpg()
  t.teardown(gpg.close)
  await gpg.importKey(teamPublicKey)
  const reporter = await gpg.generateKey({ name, email: 'reporter@example.net' })
  return { gpg, reporter, reporterKey: await openpgp.readKey({ armoredKey: reporter.armoredPublic }) }
}
