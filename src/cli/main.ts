// Operator CLI: `npm run intake -- <command>`. Commands read the same configuration as
// the gateway (environment, `.env`, and in development the generated dev secrets).
import 'dotenv/config'
import { ConfigError, loadConfig } from '../config.js'
import { quarantineCommand } from './quarantine.js'
import { exportCommand } from './export.js'
import { keysCommand } from './keys.js'
import { generateSealKeyPair } from '../seal/hpke.js'

const usage = `usage: npm run intake -- <command>

  quarantine list                     reports that could not be processed, with reasons
  quarantine show <id> [--export F]   one entry; --export writes the original message
                                      (as the reporter sent it, e.g. still encrypted) to F
  quarantine replay <id>              queue a quarantined report again
  export <id> <file>                  the original message of any sealed report (processed
                                      ones for SEALED_TTL_DAYS), e.g. for its attachments
  seal-keygen                         a new SEAL_PUBLIC_KEY / SEAL_PRIVATE_KEY pair
  keys generate|show|export           the team OpenPGP key: make one (public half into
                                      KEYS_DIR), list what is published, export it
`

export async function run (argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const [command, ...rest] = argv
  if (command === 'seal-keygen') {
    const pair = generateSealKeyPair()
    out(`SEAL_PUBLIC_KEY=${pair.publicKey}\nSEAL_PRIVATE_KEY=${pair.privateKey}\n`)
    return 0
  }
  if (command === 'quarantine') return await quarantineCommand(loadConfig(), rest, out)
  if (command === 'keys') return await keysCommand(loadConfig(), rest, out)
  if (command === 'export') return await exportCommand(loadConfig(), rest, out)
  out(usage)
  return command === undefined || command === 'help' ? 0 : 2
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run(process.argv.slice(2)).then((code) => process.exit(code), (err: Error) => {
    process.stderr.write((err instanceof ConfigError ? err.message : `error: ${err.message}`) + '\n')
    process.exit(1)
  })
}
