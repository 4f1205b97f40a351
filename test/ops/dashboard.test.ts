// The queue dashboard in a real headless browser (Debian chromium + playwright-core):
// refused without credentials, shows the queue and its jobs with them, read-only, and
// never a word of the report. A screenshot is kept in test/artifacts/ (git-ignored).
import t from 'tap'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { startGateway } from '../helpers/gateway.js'
import { plainMessage } from '../helpers/messages.js'
import type { Page } from 'playwright-core'
import { ensureChromium, launchChromium } from '../helpers/chromium.js'

const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts')
const ADMIN = { username: 'ops', password: 'dashboard-pass-123' }

/** The page's HTML once Chromium has finished replacing a refused page with its error page. */
async function settledContent (page: Page): Promise<string> {
  for (let i = 0; ; i++) {
    await page.waitForLoadState('load').catch(() => {})
    try {
      return await page.content()
    } catch (err) {
      if (i >= 20) throw err
      await new Promise((r) => setTimeout(r, 50))
    }
  }
}

t.test('bull-board at /admin/queues in chromium', async (t) => {
  t.setTimeout(900_000) // first run may install chromium
  const missing = ensureChromium()
  if (missing !== undefined) { t.plan(0, `chromium unavailable: ${missing}`); return }

  const gw = await startGateway(t, { ADMIN_BASIC_AUTH: `${ADMIN.username}:${ADMIN.password}` })
  const canary = 'CANARY-' + Math.random().toString(36).slice(2)
  const done = await gw.post(plainMessage({ messageId: 'dash-1@example.org', subject: `Subject ${canary}`, body: `Secret details ${canary}` }))
  t.equal(done.status, 200)
  await gw.waitFor(async () => (await gw.queue.getJobCounts('completed')).completed === 1, 'job completed')
  await gw.worker().worker.pause() // a second report stays waiting, so both lists have a job
  const waiting = await gw.post(plainMessage({ messageId: 'dash-2@example.org', body: `More ${canary}` }))
  t.equal(waiting.status, 200)

  await gw.web.fastify.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(gw.web.fastify.server.address() as { port: number }).port}`
  const browser = await launchChromium()
  t.teardown(() => browser.close())

  // An unauthenticated visitor is refused (and a wrong password too). Chromium answers a
  // Basic challenge it has no credentials for by failing the navigation, so the status
  // is read from the response event.
  for (const [who, options] of [['no credentials', {}], ['wrong password', { httpCredentials: { username: 'ops', password: 'nope' } }]] as const) {
    const page = await (await browser.newContext(options)).newPage()
    const statuses: number[] = []
    page.on('response', (r) => { if (r.url().endsWith('/admin/queues')) statuses.push(r.status()) })
    const answer = await page.goto(`${base}/admin/queues`).catch((err: Error) => err)
    const status = answer instanceof Error ? statuses[0] : answer?.status()
    t.equal(status, 401, `${who}: 401`)
    t.notOk((await settledContent(page)).includes('bull'), `${who}: no board shown`)
  }
  const api = await fetch(`${base}/admin/queues/api/queues`)
  t.equal(api.status, 401, 'the board API is guarded too')

  const context = await browser.newContext({ httpCredentials: ADMIN, viewport: { width: 1280, height: 900 } })
  const page = await context.newPage()
  const home = await page.goto(`${base}/admin/queues`)
  t.equal(home?.status(), 200)
  await page.getByText('reports', { exact: false }).first().waitFor({ timeout: 30_000 })

  await page.goto(`${base}/admin/queues/queue/reports?status=completed`)
  await page.getByText(String(done.id)).first().waitFor({ timeout: 30_000 })
  const completedHtml = await page.content()
  t.ok(completedHtml.includes(String(done.id)), 'the completed job is listed by its intake id')
  t.notOk(completedHtml.includes(canary), 'no report text on the completed list')
  mkdirSync(ARTIFACTS, { recursive: true })
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-completed.png'), fullPage: true })

  await page.goto(`${base}/admin/queues/queue/reports?status=waiting`)
  await page.getByText(String(waiting.id)).first().waitFor({ timeout: 30_000 })
  t.notOk((await page.content()).includes(canary), 'no report text on the waiting list')
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-waiting.png'), fullPage: true })
  // Read-only by default: no buttons that change jobs.
  for (const action of ['Retry', 'Promote', 'Clean', 'Remove', 'Delete']) {
    t.equal(await page.getByRole('button', { name: action, exact: true }).count(), 0, `no "${action}" button`)
  }

  // Everything the board's API gives the page, for both lists: ids and times, no text.
  const authHeader = { authorization: 'Basic ' + Buffer.from(`${ADMIN.username}:${ADMIN.password}`).toString('base64') }
  for (const status of ['completed', 'waiting']) {
    const res = await fetch(`${base}/admin/queues/api/queues?activeQueue=reports&status=${status}&page=1&jobsPerPage=50`, { headers: authHeader })
    t.equal(res.status, 200)
    const json = await res.text()
    t.notOk(json.includes(canary), `no report text in the API (${status})`)
    t.ok(json.includes('"readOnlyMode":true'), 'queue is read-only')
  }
  const pageJson = await (await fetch(`${base}/admin/queues/api/queues?activeQueue=reports&status=completed&page=1&jobsPerPage=50`, { headers: authHeader })).json() as { queues: Array<{ jobs: Array<{ data: unknown }> }> }
  const jobs = pageJson.queues.flatMap((q) => q.jobs)
  t.same(Object.keys(jobs[0]?.data as object).sort(), ['intakeId', 'receivedAt', 'source'], 'job data: intake id and metadata only')
  t.notOk(gw.logs.join('').includes(canary), 'no report text in the logs')
  gw.worker().worker.resume()
})
