// Reads the gateway's outgoing PGP/MIME mail the way a GnuPG user's client does:
// multipart/encrypted is decrypted with `gpg --decrypt`, multipart/signed is checked
// with `gpg --verify` over the first part's exact bytes. Returns what was inside and
// the fingerprints of good signatures (VALIDSIG), so tests assert "signed by the team".
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { simpleParser } from 'mailparser'
import { headerValue, parseContentType, splitMime, splitMultipart } from '../../src/mail/mime-split.js'
import type { Gpg } from './gpg.js'

export interface OpenedMail {
  kind: 'encrypted' | 'signed' | 'plain'
  /** The protected entity (decrypted, or the signed first part). */
  entity: Buffer
  /** Its text/plain body as a mail client shows it. */
  text: string
  /** Fingerprints of good signatures GnuPG found. */
  validSigners: string[]
  /** The outer headers (simpleParser). */
  headers: Map<string, unknown>
  subject: string
}

export async function openMail (gpg: Gpg, raw: Buffer): Promise<OpenedMail> {
  const top = splitMime(raw)
  const type = parseContentType(headerValue(top.headers, 'content-type'))
  const outer = await simpleParser(raw)
  const base = { headers: outer.headers as Map<string, unknown>, subject: outer.subject ?? '' }
  if (type.type === 'multipart/encrypted') {
    const [, payload] = splitMultipart(top.body, type.params.boundary ?? '')
    const dir = await mkdtemp(join(tmpdir(), 'pgp-mail-'))
    try {
      // Status on stdout, plaintext to a file: the two never mix.
      const status = (await gpg.run(['--status-fd', '1', '--output', join(dir, 'out'), '--decrypt'], splitMime(payload as Buffer).body)).toString()
      const out = await readFile(join(dir, 'out'))
      const inner = await simpleParser(out)
      return { kind: 'encrypted', entity: out, text: inner.text ?? '', validSigners: validSigners(status), ...base }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
  if (type.type === 'multipart/signed') {
    const [signed, signature] = splitMultipart(top.body, type.params.boundary ?? '')
    const dir = await mkdtemp(join(tmpdir(), 'pgp-mail-'))
    try {
      await writeFile(join(dir, 'part'), signed as Buffer)
      await writeFile(join(dir, 'sig.asc'), splitMime(signature as Buffer).body)
      const status = await gpgStatus(gpg, ['--verify', join(dir, 'sig.asc'), join(dir, 'part')])
      const inner = await simpleParser(signed as Buffer)
      return { kind: 'signed', entity: signed as Buffer, text: inner.text ?? '', validSigners: validSigners(status), ...base }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
  return { kind: 'plain', entity: raw, text: outer.text ?? '', validSigners: [], ...base }
}

async function gpgStatus (gpg: Gpg, args: string[], input?: Buffer): Promise<string> {
  return (await gpg.run(['--status-fd', '1', ...args], input).catch(() => Buffer.alloc(0))).toString()
}

function validSigners (status: string): string[] {
  return [...status.matchAll(/^\[GNUPG:\] VALIDSIG ([0-9A-F]{40})/gm)].map((m) => m[1] as string)
}
