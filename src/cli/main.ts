// Operator CLI: `npm run intake -- <command>` (in the container: `intake <command>`).
// Commands read the same configuration as the gateway (environment, `.env`, and in
// development the generated dev secrets). One row per command in `commands`.
import 'dotenv/config'
import { ConfigError, loadConfig, type Config, type Role } from '../config.js'
import { quarantineCommand } from './quarantine.js'
import { exportCommand } from './export.js'
import { attachmentCommand } from './attachment.js'
import { statusCommand } from './status.js'
import { replayFailedCommand } from './replay-failed.js'
import { sendTestCommand } from './send-test.js'
import { keysCommand } from './keys.js'
import { advisoryCommand, advisoryUsage } from './advisory.js'
import { generateSealKeyPair } from '../seal/hpke.js'

type Out = (s: string) => void
interface Command {
  usage: string
  run: (args: string[], out: Out, config: () => Config) => Promise<number>
}

const commands: Record<string, Command> = {
  status: {
    usage: 'status [--json]                     queue counts, failed jobs, quarantine size, the\n                                      published key\'s fingerprint and expiry',
    run: async (args, out, config) => await statusCommand(config(), args, out)
  },
  'send-test': {
    usage: 'send-test [--url U] [--key F]       post a sample report, encrypted to the published\n                                      key and signed, to a running gateway (PUBLIC_URL)',
    run: async (args, out, config) => await sendTestCommand(config(), args, out)
  },
  'replay-failed': {
    usage: 'replay-failed [--dry-run]           failed jobs back to waiting (safe: progress is kept)',
    run: async (args, out, config) => await replayFailedCommand(config(), args, out)
  },
  quarantine: {
    usage: 'quarantine list                     reports that could not be processed, with reasons\n' +
      '  quarantine show <id> [--export F]   one entry; --export writes the original message\n' +
      '                                      (as the reporter sent it, e.g. still encrypted) to F\n' +
      '  quarantine replay <id>              queue a quarantined report again',
    run: async (args, out, config) => await quarantineCommand(config(), args, out)
  },
  export: {
    usage: 'export <id> <file>                  the original message of any sealed report (processed\n                                      ones for SEALED_TTL_DAYS), e.g. for its attachments',
    run: async (args, out, config) => await exportCommand(config(), args, out)
  },
  attachment: {
    usage: 'attachment <id> <n> [file]          attachment #n of a sealed report, decrypted (runs\n                                      with the worker\'s keys), as listed in the advisory',
    run: async (args, out, config) => await attachmentCommand(config(), args, out)
  },
  keys: {
    usage: 'keys generate|show|export           the team OpenPGP key: make one (public half into\n                                      KEYS_DIR), list what is published, export it',
    run: async (args, out, config) => await keysCommand(config(), args, out)
  },
  advisory: {
    get usage () { return advisoryUsage() },
    run: async (args, out, config) => await advisoryCommand(config(), args, out)
  },
  'seal-keygen': {
    usage: 'seal-keygen                         a new SEAL_PUBLIC_KEY / SEAL_PRIVATE_KEY pair',
    run: async (_args, out) => {
      const pair = generateSealKeyPair()
      out(`SEAL_PUBLIC_KEY=${pair.publicKey}\nSEAL_PRIVATE_KEY=${pair.privateKey}\n`)
      return 0
    }
  }
}

export function usage (): string {
  return 'usage: npm run intake -- <command>\n\n' + Object.values(commands).map((c) => `  ${c.usage}\n`).join('')
}

export async function run (argv: string[], out: Out = (s) => process.stdout.write(s)): Promise<number> {
  const [name, ...rest] = argv
  const command = name === undefined ? undefined : commands[name]
  if (command === undefined) {
    out(usage())
    return name === undefined || name === 'help' ? 0 : 2
  }
  return await command.run(rest, out, () => loadConfig(process.env, cliRole(process.env)))
}

/**
 * Production validates per role: on a machine with the worker's keys the CLI is checked
 * as a worker, elsewhere as the web role (which needs no private key).
 */
function cliRole (env: NodeJS.ProcessEnv): Role {
  const hasWorkerKeys = ['SEAL_PRIVATE_KEY', 'PGP_PRIVATE_KEY', 'PGP_PRIVATE_KEY_FILE'].some((n) => (env[n] ?? '') !== '')
  return hasWorkerKeys ? 'worker' : 'web'
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run(process.argv.slice(2)).then((code) => process.exit(code), (err: Error) => {
    process.stderr.write((err instanceof ConfigError ? err.message : `error: ${err.message}`) + '\n')
    process.exit(1)
  })
}
