import t from 'tap'
import { readFileSync } from 'node:fs'
import { CONFIG_PAGE, withTable } from '../scripts/config-table.js'

t.test('the configuration page\'s table matches the config schema', async (t) => {
  const page = readFileSync(CONFIG_PAGE, 'utf8')
  t.match(page, /<!-- config-table:start -->\n[\s\S]*<!-- config-table:end -->/, `${CONFIG_PAGE} has the table markers`)
  t.equal(page, withTable(page), 'run `npx tsx scripts/config-table.ts --write`')
})

t.test('README names the two quick-start commands', async (t) => {
  const readme = readFileSync('README.md', 'utf8')
  t.match(readme, 'npm ci && npm start')
  t.match(readme, 'npm test')
})
