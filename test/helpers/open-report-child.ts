// Opens one message the way the worker does, in its own process (so a test can hold it
// under a memory limit): `node --import tsx open-report-child.ts <team.asc> <message.eml>`.
// Prints one JSON line: the signature states, the time taken and the peak RSS.
import { readFile } from 'node:fs/promises'
import { openReport } from '../../src/mail/open-report.js'
import { loadTeamKeyring } from '../../src/pgp/keyring.js'

const [teamFile, messageFile] = process.argv.slice(2) as [string, string]
const keyring = await loadTeamKeyring({ armored: [await readFile(teamFile, 'utf8')] })
const raw = await readFile(messageFile)
const start = performance.now()
const outcome = await openReport(raw, { keyring }).then(
  (report) => ({ signature: report.signature, partSignature: report.partSignature?.signature, textBytes: report.text.length }),
  (err: unknown) => ({ error: (err as { code?: string }).code ?? (err as Error).name })
)
const ms = Math.round(performance.now() - start)
process.stdout.write(JSON.stringify({ ...outcome, ms, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }) + '\n')
