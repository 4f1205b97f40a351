// Debian's chromium for the browser tests, driven by playwright-core (which downloads
// no browser of its own). Installed on first use when missing and we are root, as
// .ci/run does; otherwise the caller skips with the reason returned.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** undefined when chromium is ready, else why it is not. */
export function ensureChromium (): string | undefined {
  if (existsSync(CHROMIUM)) return undefined
  if (process.getuid?.() !== 0) return `${CHROMIUM} is missing and we are not root to apt-get install chromium`
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 })
  } catch {
    try {
      execFileSync('sh', ['-c', 'apt-get update -qq && apt-get install -y -qq chromium'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 900_000 })
    } catch (err) {
      return `apt-get install chromium failed: ${(err as Error).message.slice(0, 200)}`
    }
  }
  return existsSync(CHROMIUM) ? undefined : `chromium installed but ${CHROMIUM} is not there`
}

export async function launchChromium (): Promise<Browser> {
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-dev-shm-usage']
  })
}
