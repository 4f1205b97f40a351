// Every CLI command that reads Redis says in one line that Redis does not answer, and
// where it looked (never the URL's password), instead of reconnecting in the background.
import t from 'tap'
import { advisoryCommand } from '../../src/cli/advisory.js'
import { exportCommand } from '../../src/cli/export.js'
import { quarantineCommand } from '../../src/cli/quarantine.js'
import { replayFailedCommand } from '../../src/cli/replay-failed.js'
import { statusCommand } from '../../src/cli/status.js'
import { RedisUnavailableError, cliRedis } from '../../src/cli/redis.js'
import { testConfig } from '../helpers/config.js'
import { REDIS_URL } from '../helpers/redis.js'
import { freePort } from '../helpers/redis-server.js'

t.test('Redis not answering: one clear error per command, no password in it', async (t) => {
  const port = await freePort()
  const config = testConfig({ REDIS_URL: `redis://ops:s3cret-pass@127.0.0.1:${port}` })
  const out = (): void => {}
  const commands = {
    status: async () => await statusCommand(config, [], out),
    'quarantine list': async () => await quarantineCommand(config, ['list'], out),
    'replay-failed': async () => await replayFailedCommand(config, ['--dry-run'], out),
    export: async () => await exportCommand(config, ['a'.repeat(24), '/tmp/never-written.eml'], out),
    'advisory timeline': async () => await advisoryCommand(config, ['timeline', 'GHSA-2222-3333-4444'], out)
  }
  for (const [name, run] of Object.entries(commands)) {
    const err = await run().then(() => undefined, (e: Error) => e)
    t.type(err, RedisUnavailableError, `${name}: RedisUnavailableError`)
    t.equal(err?.message, `Redis at 127.0.0.1:${port} does not answer: start it, or point REDIS_URL at it`, `${name}: says where it looked`)
  }
})

t.test('Redis answering: the connection is ready to use', async (t) => {
  const redis = await cliRedis({ redisUrl: REDIS_URL })
  t.teardown(() => { redis.disconnect() })
  t.equal(await redis.ping(), 'PONG')
})
