// tap compiles its plugin list into node_modules at `tap build`. package.json swaps
// @tapjs/typescript (ts-node, which cannot run on TypeScript 7) for tsx, so a fresh
// `npm ci` needs one rebuild before the first run; later runs skip it.
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'

const built = readFileSync(new URL('../node_modules/@tapjs/test/test-built/dist/esm/index.js', import.meta.url), 'utf8')
if (built.includes('"@tapjs/typescript"')) {
  process.stdout.write('tap: rebuilding the plugin list (once after npm ci)\n')
  execFileSync('npx', ['tap', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] })
}
