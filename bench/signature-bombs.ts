// Signature bombs (issue 15, finding 3): one valid signature repeated 500 times over
// 5 MB on each path that verifies, beside the same message with one signature. Each is
// opened by a fresh process (test/helpers/open-report-child.ts: openReport, as the
// worker does); time and peak RSS are that process's own figures.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { generateTeamKey, loadTeamKeyring } from '../src/pgp/keyring.js'
import { inlineBody } from '../test/helpers/gpg.js'
import { autocryptHeader, cleartextBomb, detachedBomb, encryptedDetachedBomb, encryptedSignedBomb, message, reporterSigner } from '../test/helpers/signature-bombs.js'
import type { Target } from './lib.js'

const COPIES = 500
const SIGNED_BYTES = 5_000_000

export interface BombRow { path: string, one: Opened, bomb: Opened }
interface Opened { ms: number, maxRssMiB: number, state: string }

export async function signatureBombs (): Promise<{ rows: BombRow[], targets: Target[] }> {
  const key = await generateTeamKey({ email: 'security@example.org' })
  const team = (await loadTeamKeyring({ armored: [key.armoredSecret] })).published
  const signer = await reporterSigner()
  const headers = { Autocrypt: autocryptHeader(signer.publicKey) }
  const paths: Array<[string, (copies: number) => Promise<Buffer>]> = [
    ['PGP/MIME detached, encrypted', async (n) => await encryptedDetachedBomb(signer, team, SIGNED_BYTES, n)],
    ['PGP/MIME detached', async (n) => message({ headers }, await detachedBomb(signer, SIGNED_BYTES, n))],
    ['cleartext-signed inline', async (n) => message({ headers }, inlineBody(await cleartextBomb(signer, SIGNED_BYTES, n), '8bit'))],
    ['signed then encrypted inline', async (n) => message({ headers }, inlineBody(await encryptedSignedBomb(signer, team, SIGNED_BYTES, n), '8bit'))]
  ]
  const dir = await mkdtemp(join(tmpdir(), 'bench-sigbomb-'))
  const rows: BombRow[] = []
  try {
    await writeFile(join(dir, 'team.asc'), key.armoredSecret)
    for (const [path, build] of paths) rows.push({ path, one: await open(dir, await build(1)), bomb: await open(dir, await build(COPIES)) })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  const worstRatio = Math.max(...rows.map((r) => r.bomb.ms / r.one.ms))
  const worstRss = Math.max(...rows.map((r) => r.bomb.maxRssMiB))
  return {
    rows,
    targets: [
      { name: `Signature bomb (${COPIES} copies over 5 MB), time vs one signature, worst path`, target: '≤ 3×', measured: `${worstRatio.toFixed(1)}×`, met: worstRatio <= 3 },
      { name: `Signature bomb (${COPIES} copies over 5 MB), peak RSS, worst path`, target: '< 300 MB', measured: `${worstRss} MiB`, met: worstRss < 300 }
    ]
  }
}

async function open (dir: string, raw: Buffer): Promise<Opened> {
  const file = join(dir, 'message.eml')
  await writeFile(file, raw)
  const child = new URL('../test/helpers/open-report-child.ts', import.meta.url).pathname
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', child, join(dir, 'team.asc'), file], { maxBuffer: 1024 * 1024 })
  const result = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { ms: number, maxRssMiB: number, signature?: { state: string }, error?: string }
  return { ms: result.ms, maxRssMiB: result.maxRssMiB, state: result.signature?.state ?? result.error ?? '?' }
}

export function signatureBombTable (rows: BombRow[]): string {
  return ['| path | one signature | 500 copies | state |', '|---|---|---|---|',
    ...rows.map((r) => `| ${r.path} | ${r.one.ms} ms, ${r.one.maxRssMiB} MiB | ${r.bomb.ms} ms, ${r.bomb.maxRssMiB} MiB | ${r.bomb.state} |`)].join('\n')
}
