// A Config for tests, built through the real loader so defaults and validation apply.
import { loadConfig, type Config } from '../../src/config.js'

export function testConfig (env: Record<string, string | undefined>): Config {
  return loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', ...env })
}
