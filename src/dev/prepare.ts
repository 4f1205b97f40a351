// The development defaults the contract promises for `npm start` with nothing configured:
// a Redis child process when none answers, and generated secrets (INBOUND_SECRET, seal
// keys) in DATA_DIR. Nothing here runs in production.
import type { Config } from '../config.js'
import type { Logger } from '../log.js'
import { devSecretsPath, ensureDevSecrets, readDevWebSecrets } from './secrets.js'
import { hasRedisServer, redisAnswers, startRedisChild } from './redis-child.js'

/** Starts Redis when the default URL has none, and writes the dev secrets when needed. */
export async function prepareDevelopment (config: Config, log: Logger): Promise<void> {
  await ensureRedis(config, log)
  if (needsDevSecrets(config)) prepareDevSecrets(config, log)
}

/** INBOUND_SECRET, or in development the generated one. */
export function inboundSecretOf (config: Config): string | undefined {
  return config.inboundSecret ?? (needsDevSecrets(config) ? readDevWebSecrets(config.dataDir).inboundSecret : undefined)
}

async function ensureRedis (config: Config, log: Logger): Promise<void> {
  if (!config.redisUrlDefaulted || config.production) return
  if (await redisAnswers('127.0.0.1', 6379)) return
  if (!hasRedisServer()) {
    process.stderr.write('No Redis answers on 127.0.0.1:6379. Start one (redis-server --daemonize yes) or set REDIS_URL.\n')
    process.exit(1)
  }
  await startRedisChild(config.dataDir)
  log.warn({ dir: `${config.dataDir}/redis` }, 'development: started a redis-server child process (stopped on exit)')
}

function needsDevSecrets (config: Config): boolean {
  if (config.production) return false
  return config.inboundSecret === undefined || (config.seal.publicKey === undefined && config.seal.privateKey === undefined)
}

function prepareDevSecrets (config: Config, log: Logger): void {
  const created = ensureDevSecrets(config.dataDir)
  const path = devSecretsPath(config.dataDir)
  if (config.inboundSecret === undefined) {
    log.warn({ path }, created ? 'development: generated INBOUND_SECRET and seal keys' : 'development: INBOUND_SECRET and seal keys from dev secrets')
  }
}
