// The Private Distributors list (DISTRIBUTORS_FILE, YAML): who gets SECURITY.md's advance
// notice of a release, and the public key each notice is encrypted to.
//
//   distributors:
//     - name: Example Linux
//       email: security@example-linux.org
//       key: keys/example-linux.asc    # armored public key file, relative to this file
//     - name: Other Distro
//       email: secteam@other.example
//       key_armored: |
//         -----BEGIN PGP PUBLIC KEY BLOCK-----
//         ...
//
// Two kinds of mistake. A malformed list (not YAML, a missing name, a bad address, a
// misspelt field, a duplicate) is a DistributorsError listing every problem: nothing is
// sent until it is fixed. An entry whose key is missing or unusable stays on the list,
// REFUSED with its reason: the others are notified, it never gets a notice in clear.
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { readKeys, type Key, type PublicKey } from 'openpgp'
import { parse as parseYaml } from 'yaml'
import { headerText, mailboxAddress } from '../mail/messages.js'
import { pgpConfig } from '../pgp/openpgp-config.js'

export interface Distributor {
  name: string
  /** The address, as validated (domain in A-labels). */
  email: string
  /** The key its notice is encrypted to; undefined when refused. */
  key?: PublicKey
  /** Upper-case hex fingerprint of the configured key, when one could be read. */
  fingerprint?: string
  /** Why this distributor gets no notice: no key, or a key that cannot be used. */
  refused?: string
}

export class DistributorsError extends Error {
  constructor (readonly problems: string[]) {
    super(`invalid distributors file:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'DistributorsError'
  }
}

const ENTRIES_MAX = 200
const NAME_MAX = 100
const FILE_MAX_BYTES = 1024 * 1024
const FIELDS = ['name', 'email', 'key', 'key_armored']

interface Entry {
  name: string
  email: string
  keyFile?: string
  keyArmored?: string
}

/** Reads DISTRIBUTORS_FILE; `key` paths are relative to it. Throws DistributorsError. */
export async function loadDistributors (file: string, now = new Date()): Promise<Distributor[]> {
  const text = await readBounded(file).catch((err: NodeJS.ErrnoException) => {
    throw new DistributorsError([`${file}: ${err instanceof DistributorsError ? err.problems[0] as string : `not readable (${err.code ?? err.message})`}`])
  })
  return await parseDistributors(text, { baseDir: dirname(resolve(file)), now })
}

export async function parseDistributors (text: string, opts: { baseDir: string, now?: Date }): Promise<Distributor[]> {
  const entries = parseEntries(text)
  const now = opts.now ?? new Date()
  return await Promise.all(entries.map(async (entry) => ({ name: entry.name, email: entry.email, ...await keyOf(entry, opts.baseDir, now) })))
}

function parseEntries (text: string): Entry[] {
  let doc: unknown
  try {
    doc = parseYaml(text, { maxAliasCount: 100 })
  } catch (err) {
    throw new DistributorsError([`not valid YAML: ${(err as Error).message.split('\n')[0]}`])
  }
  const root = doc as { distributors?: unknown } | null
  if (root === null || typeof root !== 'object' || Array.isArray(root)) throw new DistributorsError(['the top level must be a mapping with `distributors:` (a list)'])
  const problems: string[] = []
  for (const key of Object.keys(root)) if (key !== 'distributors') problems.push(`unknown top-level field \`${key}\` (only \`distributors\`)`)
  if (!Array.isArray(root.distributors)) throw new DistributorsError([...problems, '`distributors` must be a list'])
  if (root.distributors.length > ENTRIES_MAX) problems.push(`at most ${ENTRIES_MAX} distributors`)
  const entries: Entry[] = []
  const seen = { name: new Map<string, number>(), email: new Map<string, number>() }
  root.distributors.slice(0, ENTRIES_MAX).forEach((item: unknown, i: number) => {
    const where = `distributors[${i}]`
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      problems.push(`${where} must be a mapping with name, email and key (or key_armored)`)
      return
    }
    const entry = item as Record<string, unknown>
    const before = problems.length
    for (const key of Object.keys(entry)) if (!FIELDS.includes(key)) problems.push(`${where}: unknown field \`${key}\` (allowed: ${FIELDS.join(', ')})`)
    const name = typeof entry.name === 'string' ? headerText(entry.name, NAME_MAX + 1) : ''
    if (name === '') problems.push(`${where}.name is required (a non-empty string)`)
    else if ([...name].length > NAME_MAX) problems.push(`${where}.name: at most ${NAME_MAX} characters`)
    const label = name === '' ? where : `${where} (${name})`
    const email = typeof entry.email === 'string' && entry.email.length <= 254 ? mailboxAddress(entry.email) : undefined
    if (email === undefined) problems.push(`${label}.email must be one plain e-mail address (local@domain)`)
    for (const field of ['key', 'key_armored']) {
      if (entry[field] !== undefined && entry[field] !== null && (typeof entry[field] !== 'string' || entry[field].trim() === '')) problems.push(`${label}.${field} must be a non-empty string`)
    }
    if (typeof entry.key === 'string' && typeof entry.key_armored === 'string') problems.push(`${label}: give \`key\` (a file) or \`key_armored\`, not both`)
    for (const [field, value] of [['name', name.toLowerCase()], ['email', email?.toLowerCase()]] as const) {
      if (value === undefined || value === '') continue
      const first = seen[field].get(value)
      if (first !== undefined) problems.push(`${label}: the same ${field} as distributors[${first}]`)
      else seen[field].set(value, i)
    }
    if (problems.length > before || email === undefined) return
    entries.push({
      name,
      email,
      ...(typeof entry.key === 'string' ? { keyFile: entry.key } : {}),
      ...(typeof entry.key_armored === 'string' ? { keyArmored: entry.key_armored } : {})
    })
  })
  if (problems.length > 0) throw new DistributorsError(problems)
  return entries
}

/** The entry's key if it can carry a notice, else why not. */
async function keyOf (entry: Entry, baseDir: string, now: Date): Promise<Pick<Distributor, 'key' | 'fingerprint' | 'refused'>> {
  let armored = entry.keyArmored
  if (entry.keyFile !== undefined) {
    try {
      armored = await readBounded(resolve(baseDir, entry.keyFile))
    } catch (err) {
      const e = err as NodeJS.ErrnoException
      return { refused: `key file ${entry.keyFile} ${err instanceof DistributorsError ? `is ${err.problems[0] as string}` : `is not readable (${e.code ?? e.message})`}` }
    }
  }
  if (armored === undefined) return { refused: 'no key configured' }
  const keys = await readArmored(armored)
  if (keys === undefined) return { refused: 'the key is not an armored OpenPGP public key' }
  const key = keys[0]
  if (key === undefined) return { refused: 'the key is not an armored OpenPGP public key' }
  const fingerprint = key.getFingerprint().toUpperCase()
  if (keys.length > 1) return { fingerprint, refused: `the key file holds ${keys.length} keys (give the one key of this address)` }
  if (key.isPrivate()) return { fingerprint, refused: 'that is a secret key (give the public key only)' }
  const problem = await keyProblem(key as PublicKey, entry.email, now)
  return problem === undefined ? { key: key as PublicKey, fingerprint } : { fingerprint, refused: problem }
}

/**
 * Why a public key cannot carry a notice to `email` now: expired or revoked, no valid
 * user ID for that address (a key for someone else is a wrong file, and its holder is not
 * whoever reads that mailbox), or no valid encryption subkey.
 */
async function keyProblem (key: PublicKey, email: string, now: Date): Promise<string | undefined> {
  const config = pgpConfig()
  try {
    await key.verifyPrimaryKey(now, undefined, config)
  } catch (err) {
    const message = (err as Error).message
    return /revoked/i.test(message) ? 'the key is revoked' : /expired/i.test(message) ? 'the key has expired' : 'the key is not valid (no valid self-signature)'
  }
  const wanted = email.toLowerCase()
  let uid = false
  for (const user of key.users) {
    if (user.userID?.email.toLowerCase() !== wanted) continue
    if (await user.verify(now, config).then(() => true, () => false)) uid = true
  }
  if (!uid) return `the key has no valid user ID for ${email}`
  const usable = await key.getEncryptionKey(undefined, now, undefined, config).then(() => true, () => false)
  return usable ? undefined : 'the key has no valid encryption subkey (missing, expired or revoked)'
}

/** Every key of every armor block (`cat a.asc b.asc` gives two blocks; readKeys reads one). */
async function readArmored (text: string): Promise<Key[] | undefined> {
  const blocks = text.match(/-----BEGIN PGP (?:PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP (?:PUBLIC|PRIVATE) KEY BLOCK-----/g) ?? [text]
  try {
    return (await Promise.all(blocks.map(async (block) => await readKeys({ armoredKeys: block, config: pgpConfig() })))).flat()
  } catch {
    return undefined
  }
}

/**
 * A regular file of at most 1 MiB, read through one handle. A size from stat() bounds
 * nothing for a FIFO or a device (`/dev/zero` has size 0 and no end), nor for a file that
 * grows after it: at most the stated size is read. O_NONBLOCK: a FIFO opens without
 * waiting for a writer, and is then refused.
 */
async function readBounded (file: string): Promise<string> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK)
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw new DistributorsError(['not a regular file'])
    if (info.size > FILE_MAX_BYTES) throw new DistributorsError(['larger than 1 MiB'])
    const buffer = Buffer.alloc(info.size)
    let length = 0
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null)
      if (bytesRead === 0) break
      length += bytesRead
    }
    return buffer.subarray(0, length).toString('utf8')
  } finally {
    await handle.close()
  }
}
