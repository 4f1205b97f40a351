// A small, real HTTP imitation of GitHub's repository security advisory API, for tests
// and the benchmark. Every request body (and list query) is checked with Ajv against
// the schemas extracted from GitHub's own OpenAPI description
// (test/fixtures/github-schemas.json, see scripts/extract-github-schemas.ts), so a test
// that passes here sends bodies GitHub would accept. Failure injection and a secondary
// rate limiter let tests see retry and throttling behaviour against a real socket.
//
//   const stub = await startGithubStub({ repos: ['acme/widget'], token: 't' })
//   t.teardown(stub.close)
//   const octokit = createOctokit({ baseUrl: stub.url, auth: 't', log, retryBaseMs: 10 })
//   stub.failNext(502, 1, {}, { method: 'POST', applied: true }) // created, answer lost
//   stub.failNext(403, 1, { 'retry-after': '1' })                // secondary rate limit
//   stub.setRateLimit({ perMinute: 80 })                          // GitHub's write limit
//   ... t.same(stub.invalidRequests, []); t.same(stub.violations, [])

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import { createVerify, randomBytes, randomInt } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'

export interface GithubStubOptions {
  /** repositories that exist, as 'owner/name' (default ['acme/widget']); public unless in privateRepos */
  repos?: string[]
  /** repositories (also added to repos) created private: GitHub refuses CVE requests for them */
  privateRepos?: string[]
  /** when set, only `token <t>` / `Bearer <t>` is accepted; otherwise any authorization */
  token?: string
  /**
   * A GitHub App: `POST /app/installations/{id}/access_tokens` checks the app's RS256 JWT
   * against this public key and issues installation tokens, which the API then accepts.
   */
  app?: { appId: string, installationId: number, publicKeyPem: string }
  /** login of the authenticated user, shown as advisory author (default 'intake-bot') */
  login?: string
  /** repository files served by the contents API: { 'owner/repo': { 'package.json': '...' } } */
  files?: Record<string, Record<string, string>>
  /** user accounts (GET /users/{login}; credits and collaborators must be among them) */
  users?: string[]
  /** organisation logins (GET /users/{login} answers type Organization) */
  orgs?: string[]
  /** teams as 'org/slug' (GET /orgs/{org}/teams/{slug}; collaborating_teams must be among them) */
  teams?: string[]
}

export interface StubRequest {
  method: string
  path: string
  query: Record<string, string>
  headers: IncomingHttpHeaders
  body: unknown
  /** Date.now() when the request arrived */
  at: number
  status: number
  /** schema or rule violations, when the request was rejected as invalid */
  invalid?: string[]
}

export interface FailOptions {
  /** only requests with this method consume the failure (default: any) */
  method?: string
  /** GitHub-style error message (default: one per status) */
  message?: string
  /** handle the request first, then send the failure: "GitHub did it, the response was lost" */
  applied?: boolean
  /** failFor: the window lasts until it has also answered this many requests (a slow client still meets it) */
  minHits?: number
}

export interface RateLimitOptions {
  /** accepted content-creating requests (POST/PATCH/PUT/DELETE) per window and token */
  perMinute: number
  /** window length; shorten it in tests (default 60 000) */
  windowMs?: number
  /** the refusal: 403 secondary rate limit (default) or 429, both with retry-after */
  status?: 403 | 429
}

export type Advisory = Record<string, unknown> & { ghsa_id: string, html_url: string, description: string | null, state: string, created_at: string }

export interface SeedAdvisory {
  owner: string
  repo: string
  body: Record<string, unknown>
  state?: 'draft' | 'triage' | 'published' | 'closed'
  createdAt?: Date
}

/** What a maintainer may change in the UI (any field of the update body; validated like a PATCH). */
export interface AdvisoryChange {
  state?: 'draft' | 'published' | 'closed'
  cve_id?: string
  summary?: string
  description?: string
  severity?: 'critical' | 'high' | 'medium' | 'low'
  cvss_vector_string?: string
  vulnerabilities?: Array<{ package: { ecosystem: string, name?: string | null }, vulnerable_version_range?: string | null, patched_versions?: string | null }>
  credits?: Array<{ login: string, type: string }>
  collaborating_users?: string[]
  collaborating_teams?: string[]
}

export interface GithubStub {
  url: string
  requests: StubRequest[]
  /** requests rejected by schema or GitHub rule: tests assert this stays empty */
  invalidRequests: StubRequest[]
  /** requests that arrived while their token was told to wait (retry-after / reset) */
  violations: StubRequest[]
  /** every advisory, in creation order, exactly as the API returns it */
  advisories: Advisory[]
  failNext: (status: number, times?: number, headers?: Record<string, string>, opts?: FailOptions) => void
  /** every matching request answers `status` for the next `ms` milliseconds (an outage window) */
  failFor: (ms: number, status: number, headers?: Record<string, string>, opts?: FailOptions) => void
  setRateLimit: (limit: RateLimitOptions | null) => void
  /** adds an advisory without an HTTP request (not recorded) */
  seedAdvisory: (seed: SeedAdvisory) => Advisory
  /**
   * What a maintainer does in GitHub's UI: publish, close or reopen an advisory, assign a
   * CVE, add collaborators. Goes through the same request-body validation as PATCH.
   */
  changeAdvisory: (ghsaId: string, change: AdvisoryChange) => Advisory
  /** What an owner does in the repository settings: make it private or public. */
  setVisibility: (repo: string, visibility: 'public' | 'private') => void
  /** Temporary private forks, by GHSA id, as the fork endpoint answered them. */
  forks: Map<string, Record<string, unknown>>
  /** GHSA ids a CVE was requested for (POST .../cve accepted). */
  cveRequests: Set<string>
  close: () => Promise<void>
}

const schemas = JSON.parse(readFileSync(new URL('../fixtures/github-schemas.json', import.meta.url), 'utf8'))
const ajv = addFormats(new Ajv({ strict: true, allErrors: true, verbose: true }))
const queryAjv = new Ajv({ strict: true, allErrors: true, coerceTypes: true })
const pathValidators = Object.fromEntries(Object.entries(schemas.operations as Record<string, { pathParams: object | null }>)
  .filter(([, op]) => op.pathParams !== null)
  .map(([name, op]) => [name, queryAjv.compile(op.pathParams as object)]))
const validators = {
  content: queryAjv.compile(schemas.operations.reposGetContent.query),
  create: ajv.compile(schemas.operations.createRepositoryAdvisory.requestBody),
  update: ajv.compile(schemas.operations.updateRepositoryAdvisory.requestBody),
  list: queryAjv.compile(schemas.operations.listRepositoryAdvisories.query),
  advisory: ajv.compile(schemas.schemas['repository-advisory'])
}

/** Checks an object against GitHub's `repository-advisory` response schema. */
export function advisorySchemaErrors (advisory: unknown): string[] {
  return validators.advisory(advisory) ? [] : describe(validators.advisory.errors)
}

const GHSA_ALPHABET = '23456789cfghjmpqrvwx'
const DOCS = 'https://docs.github.com/rest/security-advisories/repository-advisories'
const SECONDARY_MESSAGE = 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.'
const PRIMARY_LIMIT = 5000
const MESSAGES: Record<number, string> = {
  400: 'Problems parsing JSON',
  401: 'Requires authentication',
  403: 'Resource not accessible by integration',
  404: 'Not Found',
  422: 'Validation Failed',
  429: 'API rate limit exceeded',
  500: 'Server Error',
  502: 'Server Error',
  503: 'Service Unavailable'
}
const CONTENT_CREATING = new Set(['POST', 'PATCH', 'PUT', 'DELETE'])

class HttpError extends Error {
  constructor (readonly status: number, readonly payload: object, readonly invalid?: string[], readonly headers: Record<string, string> = {}) {
    super(String(status))
  }
}

interface Failure { status: number, remaining: number, headers: Record<string, string>, opts: FailOptions, until?: number, hits: number }
interface Ctx { req: StubRequest, owner: string, repo: string, ghsa?: string }

export async function startGithubStub (opts: GithubStubOptions = {}): Promise<GithubStub> {
  const repos = new Set([...(opts.repos ?? ['acme/widget']), ...(opts.privateRepos ?? [])].map(r => r.toLowerCase()))
  const privateRepos = new Set((opts.privateRepos ?? []).map(r => r.toLowerCase()))
  const forks = new Map<string, Record<string, unknown>>() // ghsa -> the fork (full-repository subset)
  const cveRequests = new Set<string>()
  const files = new Map(Object.entries(opts.files ?? {}).map(([r, f]) => [r.toLowerCase(), f]))
  const users = new Map((opts.users ?? []).map(u => [u.toLowerCase(), u]))
  const orgs = new Map((opts.orgs ?? []).map(u => [u.toLowerCase(), u]))
  const teams = new Set((opts.teams ?? []).map(t => t.toLowerCase()))
  const login = opts.login ?? 'intake-bot'
  const requests: StubRequest[] = []
  const invalidRequests: StubRequest[] = []
  const violations: StubRequest[] = []
  const advisories: Advisory[] = []
  const repoOf = new Map<string, string>() // ghsa -> 'owner/repo' (lower case)
  const failures: Failure[] = []
  const installationTokens = new Set<string>()
  const blockedUntil = new Map<string, number>() // token -> ms epoch
  const writes = new Map<string, number[]>() // token -> accepted write times in the window
  const used = new Map<string, number>() // token -> primary quota used this hour
  const resetAt = Math.ceil(Date.now() / 1000) + 3600
  let rateLimit: RateLimitOptions | null = null
  let url = ''

  const server = createServer((req, res) => {
    handle(req, res).catch(err => {
      res.statusCode = 500
      res.end(JSON.stringify({ message: `stub bug: ${(err as Error).message}` }))
    })
  })

  async function handle (req: IncomingMessage, res: ServerResponse) {
    const parsed = new URL(req.url ?? '/', url)
    const record: StubRequest = {
      method: req.method ?? 'GET',
      path: parsed.pathname,
      query: Object.fromEntries(parsed.searchParams),
      headers: req.headers,
      body: undefined,
      at: Date.now(),
      status: 0
    }
    requests.push(record)
    const token = req.headers.authorization ?? ''
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      record.status = status
      noteWaits(token, headers)
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...quotaHeaders(token), 'x-github-request-id': `STUB:${requests.length}`, ...headers })
      res.end(payload === undefined ? '' : JSON.stringify(payload))
    }
    try {
      record.body = parseBody(await readBody(req))
      const { status, payload, headers } = dispatch(record, token)
      send(status, payload, headers)
    } catch (err) {
      if (!(err instanceof HttpError)) throw err
      if (err.invalid !== undefined) {
        record.invalid = err.invalid
        invalidRequests.push(record)
      }
      send(err.status, err.payload, err.headers)
    }
  }

  function dispatch (record: StubRequest, token: string): { status: number, payload: unknown, headers?: Record<string, string> } {
    if (token === '') throw new HttpError(401, ghError(401))
    if (opts.app !== undefined && /^\/app\/installations\/\d+\/access_tokens$/.test(record.path)) return installationToken(record, token, opts.app)
    const issued = /^(?:token|bearer) (ghs_\w+)$/i.exec(token)?.[1]
    if (issued !== undefined && installationTokens.has(issued)) {
      // an installation token minted by this stub
    } else if ((opts.token !== undefined || opts.app !== undefined) && (opts.token === undefined || !new RegExp(`^(token|bearer) ${escape(opts.token)}$`, 'i').test(token))) {
      throw new HttpError(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' })
    }
    used.set(token, (used.get(token) ?? 0) + 1)
    const waitUntil = blockedUntil.get(token) ?? 0
    if (Date.now() < waitUntil) {
      violations.push(record)
      throw secondaryLimit(Math.ceil((waitUntil - Date.now()) / 1000))
    }
    const failure = takeFailure(record.method)
    if (failure !== undefined && failure.opts.applied !== true) throw failed(failure)
    if (CONTENT_CREATING.has(record.method)) enforceRateLimit(token)
    // applied: the work is done (or refused), whatever GitHub answered is lost in a 5xx.
    let result
    try {
      result = route(record)
    } catch (err) {
      if (failure !== undefined) throw failed(failure)
      throw err
    }
    if (failure !== undefined) throw failed(failure)
    return result
  }

  function installationToken (record: StubRequest, authorization: string, app: NonNullable<GithubStubOptions['app']>) {
    const jwt = /^bearer (.+)$/i.exec(authorization)?.[1] ?? ''
    const [header = '', payload = '', signature = ''] = jwt.split('.')
    const signed = createVerify('RSA-SHA256').update(`${header}.${payload}`).verify(app.publicKeyPem, Buffer.from(signature, 'base64url'))
    const claims = signed ? JSON.parse(Buffer.from(payload, 'base64url').toString()) as { iss?: unknown, exp?: number } : {}
    if (!signed || String(claims.iss) !== app.appId || (claims.exp ?? 0) * 1000 < Date.now()) {
      throw new HttpError(401, { message: 'A JSON web token could not be decoded', documentation_url: 'https://docs.github.com/rest', status: '401' })
    }
    if (record.path !== `/app/installations/${app.installationId}/access_tokens`) throw new HttpError(404, ghError(404))
    const minted = `ghs_${randomBytes(18).toString('hex')}`
    installationTokens.add(minted)
    return ok(201, { token: minted, expires_at: new Date(Date.now() + 3600_000).toISOString(), permissions: { repository_advisories: 'write' }, repository_selection: 'all' })
  }

  function route (record: StubRequest) {
    const read = readRoute(record)
    if (read !== undefined) return read
    const m = /^\/repos\/([^/]+)\/([^/]+)(\/security-advisories(?:\/([^/]+)(?:\/(forks|cve))?)?)?\/?$/.exec(record.path)
    if (m === null) throw new HttpError(404, ghError(404))
    const action = m[5] as 'forks' | 'cve' | undefined
    validParams(action === 'forks' ? 'createFork' : action === 'cve' ? 'createRepositoryAdvisoryCveRequest' : record.method === 'PATCH' || (record.method === 'GET' && m[4] !== undefined) ? 'updateRepositoryAdvisory' : m[3] === undefined ? 'reposGet' : 'createRepositoryAdvisory',
      { owner: m[1], repo: m[2], ...(m[4] === undefined ? {} : { ghsa_id: m[4] }) })
    const [, owner = '', repo = '', sub, ghsa] = m
    if (!repos.has(`${owner}/${repo}`.toLowerCase())) throw new HttpError(404, ghError(404))
    const ctx: Ctx = { req: record, owner, repo, ...(ghsa === undefined ? {} : { ghsa }) }
    const key = `${record.method} ${sub === undefined ? 'repo' : ghsa === undefined ? 'list' : action ?? 'one'}`
    switch (key) {
      case 'GET repo': return ok(200, { ...repository(owner, repo), ...visibilityOf(owner, repo) })
      case 'GET list': return list(ctx)
      case 'POST list': return create(ctx)
      case 'GET one': return ok(200, find(ctx))
      case 'PATCH one': return update(ctx)
      case 'POST forks': return createFork(ctx)
      case 'POST cve': return requestCve(ctx)
      default: throw new HttpError(404, ghError(404))
    }
  }

  function visibilityOf (owner: string, repo: string) {
    const isPrivate = privateRepos.has(`${owner}/${repo}`.toLowerCase())
    return { private: isPrivate, visibility: isPrivate ? 'private' : 'public' }
  }

  // POST .../{ghsa_id}/forks: 202 with the fork (a full-repository). GitHub makes one
  // temporary private fork per advisory; asked again, this stub answers with the same one.
  function createFork (ctx: Ctx) {
    noBody(ctx.req)
    const advisory = find(ctx)
    return ok(202, forkOf(ctx.owner, ctx.repo, advisory))
  }

  function forkOf (owner: string, repo: string, advisory: Advisory): Record<string, unknown> {
    const existing = forks.get(advisory.ghsa_id)
    if (existing !== undefined) return existing
    const name = `${repo}-${advisory.ghsa_id.toLowerCase()}`
    const simple = simpleRepository(owner, name, true)
    const fork = {
      ...simple,
      fork: false, // GitHub makes a new private repository, not a network fork
      visibility: 'private',
      default_branch: 'main',
      created_at: isoSeconds(new Date()),
      updated_at: isoSeconds(new Date()),
      pushed_at: isoSeconds(new Date()),
      clone_url: `https://github.com/${owner}/${name}.git`,
      ssh_url: `git@github.com:${owner}/${name}.git`,
      archived: false,
      disabled: false,
      permissions: { admin: true, maintain: true, push: true, triage: true, pull: true }
    }
    forks.set(advisory.ghsa_id, fork)
    advisory.private_fork = simple
    return fork
  }

  // POST .../{ghsa_id}/cve: 202 {}. Public repositories only; once per advisory; not for
  // an advisory that has a CVE, nor a closed or withdrawn one.
  function requestCve (ctx: Ctx) {
    noBody(ctx.req)
    const advisory = find(ctx)
    // A rule a client can check first (GET /repos/{o}/{r}: private): recorded as invalid.
    if (privateRepos.has(`${ctx.owner}/${ctx.repo}`.toLowerCase())) throw invalid(['cve: private repository'], undefined, 'cve_id')
    const refuse = (message: string) => new HttpError(422, { message, documentation_url: DOCS, status: '422' })
    if (advisory.cve_id !== null) throw refuse('This advisory already has a CVE identifier.')
    if (cveRequests.has(advisory.ghsa_id)) throw refuse('A CVE has already been requested for this advisory.')
    if (advisory.state === 'closed' || advisory.state === 'withdrawn') throw refuse('A CVE cannot be requested for an advisory in this state.')
    cveRequests.add(advisory.ghsa_id)
    return ok(202, {})
  }

  function noBody (req: StubRequest) {
    if (req.body !== undefined && !(typeof req.body === 'object' && req.body !== null && Object.keys(req.body).length === 0)) throw invalid(['body: this endpoint takes no parameters'])
  }

  // The reads routing and enrichment make: contents, users, teams. GETs carry no body.
  function readRoute (record: StubRequest) {
    const content = /^\/repos\/([^/]+)\/([^/]+)\/contents\/(.+)$/.exec(record.path)
    const user = /^\/users\/([^/]+)$/.exec(record.path)
    const team = /^\/orgs\/([^/]+)\/teams\/([^/]+)$/.exec(record.path)
    if (content === null && user === null && team === null) return undefined
    if (record.method !== 'GET') throw new HttpError(404, ghError(404))
    if (record.body !== undefined) throw invalid(['GET with a body'])
    if (content !== null) {
      const [, owner = '', repo = '', path = ''] = content
      validParams('reposGetContent', { owner, repo, path: decodeURIComponent(path) })
      if (!validators.content(record.query)) throw invalid(describe(validators.content.errors))
      if (!repos.has(`${owner}/${repo}`.toLowerCase())) throw new HttpError(404, ghError(404))
      const text = files.get(`${owner}/${repo}`.toLowerCase())?.[decodeURIComponent(path)]
      if (text === undefined) throw new HttpError(404, ghError(404))
      return ok(200, fileContent(owner, repo, decodeURIComponent(path), text))
    }
    if (user !== null) {
      const login = decodeURIComponent(user[1] ?? '')
      validParams('usersGetByUsername', { username: login })
      const known = users.get(login.toLowerCase()) ?? orgs.get(login.toLowerCase())
      if (known === undefined) throw new HttpError(404, ghError(404))
      return ok(200, { ...simpleUser(known, users.has(login.toLowerCase()) ? 'User' : 'Organization'), name: null, company: null, blog: '', location: null, email: null, hireable: null, bio: null, public_repos: 1, public_gists: 0, followers: 0, following: 0, created_at: '2020-01-01T00:00:00Z', updated_at: '2020-01-01T00:00:00Z' })
    }
    const [, org = '', slug = ''] = team ?? []
    validParams('teamsGetByName', { org, team_slug: slug })
    if (!teams.has(`${org}/${slug}`.toLowerCase())) throw new HttpError(404, ghError(404))
    return ok(200, { id: 1, node_id: 'T_stub', name: slug, slug, description: null, privacy: 'closed', permission: 'pull', url: `https://api.github.com/orgs/${org}/teams/${slug}`, html_url: `https://github.com/orgs/${org}/teams/${slug}`, members_url: '', repositories_url: '', parent: null })
  }

  function validParams (operation: string, params: Record<string, unknown>) {
    const validate = pathValidators[operation]
    if (validate === undefined) throw new Error(`stub bug: no path schema for ${operation}`)
    if (!validate(params)) throw invalid(describe(validate.errors))
  }

  // GitHub refuses credits and collaborators that are not accounts (or teams) it knows.
  // Only when the test declared its people (older tests credit made-up logins).
  function checkPeople (body: Record<string, any>) {
    if (opts.users === undefined) return
    const problems: string[] = []
    for (const c of (body.credits ?? []) as Array<{ login: string }>) if (!users.has(c.login.toLowerCase())) problems.push(`credits: ${c.login} is not a user`)
    for (const u of (body.collaborating_users ?? []) as string[]) if (!users.has(u.toLowerCase())) problems.push(`collaborating_users: ${u} is not a user`)
    for (const t of (body.collaborating_teams ?? []) as string[]) if (![...teams].some(k => k.endsWith(`/${t.toLowerCase()}`))) problems.push(`collaborating_teams: ${t} is not a team`)
    if (problems.length > 0) throw invalid(problems, undefined, 'credits')
  }

  function list ({ req, owner, repo }: Ctx) {
    if (!validators.list(req.query)) throw invalid(describe(validators.list.errors), validators.list.errors)
    const q = req.query
    const perPage = Number(q.per_page ?? 30)
    const sortKey = `${q.sort ?? 'created'}_at`
    const sign = q.direction === 'asc' ? 1 : -1
    const all = advisories
      .map((a, i) => ({ a, i }))
      .filter(({ a }) => repoOf.get(a.ghsa_id) === `${owner}/${repo}`.toLowerCase())
      .filter(({ a }) => q.state === undefined || a.state === q.state)
      .sort((x, y) => sign * (String(x.a[sortKey] ?? '').localeCompare(String(y.a[sortKey] ?? '')) || x.i - y.i))
      .map(({ a }) => a)
    // GitHub paginates this endpoint with opaque before/after cursors in the Link header.
    const start = q.after !== undefined ? decodeCursor(q.after) : q.before !== undefined ? Math.max(0, decodeCursor(q.before) - perPage) : 0
    const end = q.before !== undefined ? decodeCursor(q.before) : start + perPage
    const page = all.slice(start, end)
    const headers: Record<string, string> = {}
    if (end < all.length) {
      const next = new URL(`/repos/${owner}/${repo}/security-advisories`, url)
      for (const [k, v] of Object.entries(q)) if (k !== 'after' && k !== 'before') next.searchParams.set(k, v)
      next.searchParams.set('after', encodeCursor(end))
      headers.link = `<${next.href}>; rel="next"`
    }
    return ok(200, page, headers)
  }

  function create ({ req, owner, repo }: Ctx) {
    const body = validBody(validators.create, req.body)
    checkRules(body)
    checkPeople(body)
    const advisory = buildAdvisory(owner, repo, body, 'draft', new Date())
    // GitHub starts the fork with the advisory; it shows up in `private_fork`.
    if (body.start_private_fork === true) forkOf(owner, repo, advisory)
    return ok(201, advisory)
  }

  function update (ctx: Ctx) {
    const advisory = find(ctx)
    const body = validBody(validators.update, ctx.req.body)
    checkRules(body)
    checkPeople(body)
    const cvss = advisory.cvss as { vector_string: string | null } | null
    if (body.severity !== undefined && cvss?.vector_string != null && body.cvss_vector_string === undefined) {
      throw invalid(['severity: cannot be changed once a CVSS vector is set'], undefined, 'severity')
    }
    Object.assign(advisory, advisoryFields(body, advisory), { updated_at: isoSeconds(new Date()) })
    if (body.state === 'published') advisory.published_at = advisory.updated_at
    if (body.state === 'closed') advisory.closed_at = advisory.updated_at
    return ok(200, advisory)
  }

  function find ({ owner, repo, ghsa }: Ctx): Advisory {
    const advisory = advisories.find(a => a.ghsa_id === ghsa && repoOf.get(a.ghsa_id) === `${owner}/${repo}`.toLowerCase())
    if (advisory === undefined) throw new HttpError(404, ghError(404))
    return advisory
  }

  function buildAdvisory (owner: string, repo: string, body: Record<string, unknown>, state: string, createdAt: Date): Advisory {
    const ghsa = newGhsaId(new Set(advisories.map(a => a.ghsa_id)))
    const at = isoSeconds(createdAt)
    const advisory: Advisory = {
      ghsa_id: ghsa,
      cve_id: null,
      url: new URL(`/repos/${owner}/${repo}/security-advisories/${ghsa}`, url).href,
      html_url: `https://github.com/${owner}/${repo}/security/advisories/${ghsa}`,
      summary: '',
      description: null,
      severity: null,
      author: simpleUser(login, 'User'),
      publisher: null,
      identifiers: [{ type: 'GHSA', value: ghsa }],
      state,
      created_at: at,
      updated_at: at,
      published_at: null,
      closed_at: null,
      withdrawn_at: null,
      submission: null,
      vulnerabilities: [],
      cvss: { vector_string: null, score: null },
      cwes: [],
      cwe_ids: [],
      credits: [],
      credits_detailed: [],
      collaborating_users: null,
      collaborating_teams: null,
      private_fork: null
    }
    Object.assign(advisory, advisoryFields(body, advisory))
    advisories.push(advisory)
    repoOf.set(ghsa, `${owner}/${repo}`.toLowerCase())
    return advisory
  }

  // Request fields -> response fields; only fields present in the body change.
  function advisoryFields (body: Record<string, any>, current: Advisory): Record<string, unknown> {
    const out: Record<string, unknown> = {}
    for (const key of ['summary', 'description', 'cve_id', 'state'] as const) {
      if (body[key] !== undefined) out[key] = body[key]
    }
    if (body.severity !== undefined) out.severity = body.severity
    if (body.cvss_vector_string !== undefined) {
      out.cvss = { vector_string: body.cvss_vector_string, score: null }
      if (body.severity === undefined) out.severity = current.severity
    }
    if (body.vulnerabilities !== undefined) {
      out.vulnerabilities = body.vulnerabilities.map((v: Record<string, any>) => ({
        package: { ecosystem: v.package.ecosystem, name: v.package.name ?? null },
        vulnerable_version_range: v.vulnerable_version_range ?? null,
        patched_versions: v.patched_versions ?? null,
        vulnerable_functions: v.vulnerable_functions ?? null
      }))
    }
    if (body.cwe_ids !== undefined) {
      out.cwe_ids = body.cwe_ids ?? []
      out.cwes = (body.cwe_ids ?? []).map((id: string) => ({ cwe_id: id, name: id }))
    }
    if (body.credits !== undefined) {
      const credits = (body.credits ?? []) as Array<{ login: string, type: string }>
      out.credits = credits
      out.credits_detailed = credits.map(c => ({ user: simpleUser(c.login, 'User'), type: c.type, state: 'pending' }))
    }
    if (body.collaborating_users !== undefined) {
      out.collaborating_users = body.collaborating_users?.map((u: string) => simpleUser(u, 'User')) ?? null
    }
    if (body.collaborating_teams !== undefined) {
      out.collaborating_teams = body.collaborating_teams?.map((slug: string) => ({ id: 1, node_id: 'T_stub', name: slug, slug, description: null, privacy: 'closed', permission: 'push', url: `https://api.github.com/teams/${slug}`, html_url: `https://github.com/orgs/x/teams/${slug}`, members_url: '', repositories_url: '', parent: null })) ?? null
    }
    return out
  }

  function takeFailure (method: string): Failure | undefined {
    const now = Date.now()
    const over = (f: Failure) => (f.until ?? Infinity) <= now && f.hits >= (f.opts.minHits ?? 0)
    for (let i = failures.length - 1; i >= 0; i--) if (over(failures[i] as Failure)) failures.splice(i, 1)
    const failure = failures.find(f => f.opts.method === undefined || f.opts.method.toUpperCase() === method)
    if (failure === undefined) return undefined
    failure.hits++
    if (failure.until === undefined && --failure.remaining === 0) failures.splice(failures.indexOf(failure), 1)
    return failure
  }

  function failed (f: Failure): HttpError {
    const secondary = f.status === 403 && f.headers['retry-after'] !== undefined
    const message = f.opts.message ?? (secondary ? SECONDARY_MESSAGE : MESSAGES[f.status] ?? 'Error')
    return new HttpError(f.status, { message, documentation_url: DOCS, status: String(f.status) }, undefined, f.headers)
  }

  function enforceRateLimit (token: string) {
    if (rateLimit === null) return
    const windowMs = rateLimit.windowMs ?? 60_000
    const now = Date.now()
    const recent = (writes.get(token) ?? []).filter(t => t > now - windowMs)
    writes.set(token, recent)
    if (recent.length >= rateLimit.perMinute) {
      const retryAfter = Math.max(1, Math.ceil(((recent[0] ?? now) + windowMs - now) / 1000))
      if (rateLimit.status === 429) throw new HttpError(429, { message: MESSAGES[429], documentation_url: DOCS, status: '429' }, undefined, { 'retry-after': String(retryAfter) })
      throw secondaryLimit(retryAfter)
    }
    recent.push(now)
  }

  function secondaryLimit (retryAfter: number): HttpError {
    const payload = { message: SECONDARY_MESSAGE, documentation_url: 'https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits', status: '403' }
    return new HttpError(403, payload, undefined, { 'retry-after': String(retryAfter) })
  }

  // A response that tells the client to wait starts a window in which any request from
  // the same token is a violation (and is refused again, as GitHub would).
  function noteWaits (token: string, headers: Record<string, string>) {
    const retryAfter = Number(headers['retry-after'])
    if (retryAfter > 0) blockedUntil.set(token, Math.max(blockedUntil.get(token) ?? 0, Date.now() + retryAfter * 1000))
    if (headers['x-ratelimit-remaining'] === '0' && headers['x-ratelimit-reset'] !== undefined) {
      blockedUntil.set(token, Math.max(blockedUntil.get(token) ?? 0, Number(headers['x-ratelimit-reset']) * 1000))
    }
  }

  function quotaHeaders (token: string): Record<string, string> {
    const n = used.get(token) ?? 0
    return {
      'x-ratelimit-limit': String(PRIMARY_LIMIT),
      'x-ratelimit-remaining': String(Math.max(0, PRIMARY_LIMIT - n)),
      'x-ratelimit-reset': String(resetAt),
      'x-ratelimit-used': String(n),
      'x-ratelimit-resource': 'core'
    }
  }

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  return {
    url,
    requests,
    invalidRequests,
    violations,
    advisories,
    failNext (status, times = 1, headers = {}, failOpts = {}) {
      failures.push({ status, remaining: times, headers: lowerKeys(headers), opts: failOpts, hits: 0 })
    },
    failFor (ms, status, headers = {}, failOpts = {}) {
      failures.push({ status, remaining: Infinity, headers: lowerKeys(headers), opts: failOpts, until: Date.now() + ms, hits: 0 })
    },
    setRateLimit (limit) { rateLimit = limit },
    seedAdvisory ({ owner, repo, body, state = 'draft', createdAt = new Date() }) {
      return buildAdvisory(owner, repo, body, state, createdAt)
    },
    changeAdvisory (ghsaId, change) {
      const where = repoOf.get(ghsaId)
      if (where === undefined) throw new Error(`no advisory ${ghsaId}`)
      const [owner = '', repo = ''] = where.split('/')
      const record: StubRequest = { method: 'PATCH', path: `/repos/${owner}/${repo}/security-advisories/${ghsaId}`, query: {}, headers: {}, body: change, at: Date.now(), status: 0 }
      const result = update({ req: record, owner, repo, ghsa: ghsaId })
      return result.payload as Advisory
    },
    setVisibility (name, visibility) {
      const key = name.toLowerCase()
      if (!repos.has(key)) throw new Error(`no repository ${name}`)
      if (visibility === 'private') privateRepos.add(key)
      else privateRepos.delete(key)
    },
    forks,
    cveRequests,
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections()
      server.close(err => { if (err === undefined) resolve(); else reject(err) })
    })
  }
}

// ---- GitHub-shaped pieces -------------------------------------------------------------

function ok (status: number, payload: unknown, headers: Record<string, string> = {}) {
  return { status, payload, headers }
}

function ghError (status: number) {
  return { message: MESSAGES[status] ?? 'Error', documentation_url: DOCS, status: String(status) }
}

function validBody (validate: ValidateFunction, body: unknown): Record<string, unknown> {
  if (!validate(body)) throw invalid(describe(validate.errors), validate.errors)
  return body as Record<string, unknown>
}

// Rules GitHub enforces beyond the schema.
function checkRules (body: Record<string, unknown>) {
  if (body.severity != null && body.cvss_vector_string != null) {
    throw invalid(['severity: cannot be set together with cvss_vector_string'], undefined, 'severity')
  }
  // The schema already fails `severity: null` on its enum; kept explicit because it is
  // the one nullable-looking field that GitHub rejects as null.
  if (body.severity === null) throw invalid(['severity: must not be null'], undefined, 'severity')
}

// 422 in GitHub's format. Like GitHub, invalid values are echoed in `errors[].value`, so
// clients that put the raw error message in logs would leak what they sent.
function invalid (problems: string[], errors?: ErrorObject[] | null, field?: string): HttpError {
  const ghErrors = errors == null
    ? [{ resource: 'RepositoryAdvisory', field: field ?? '', code: 'invalid' }]
    : errors.map(e => ({
      resource: 'RepositoryAdvisory',
      field: fieldOf(e),
      code: e.keyword === 'required' ? 'missing_field' : 'invalid',
      ...(typeof e.data === 'string' || typeof e.data === 'number' ? { value: e.data } : {})
    }))
  return new HttpError(422, { message: 'Validation Failed', errors: ghErrors, documentation_url: DOCS, status: '422' }, problems)
}

function fieldOf (e: ErrorObject): string {
  const base = e.instancePath.slice(1).replace(/\//g, '.')
  const extra = (e.params as { missingProperty?: string, additionalProperty?: string })
  const name = extra.missingProperty ?? extra.additionalProperty
  return name === undefined ? base : base === '' ? name : `${base}.${name}`
}

function describe (errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map(e => `${fieldOf(e) || '(body)'}: ${e.message ?? e.keyword}`)
}

function repository (owner: string, repo: string) {
  return {
    id: 1000 + randomInt(1000),
    node_id: 'R_stub',
    name: repo,
    full_name: `${owner}/${repo}`,
    private: true,
    owner: simpleUser(owner, 'Organization'),
    html_url: `https://github.com/${owner}/${repo}`,
    url: `https://api.github.com/repos/${owner}/${repo}`,
    default_branch: 'main'
  }
}

// GitHub's `simple-repository` (what an advisory's `private_fork` holds).
function simpleRepository (owner: string, name: string, isPrivate: boolean) {
  const api = `https://api.github.com/repos/${owner}/${name}`
  const urls = Object.fromEntries(['archive_url:/{archive_format}{/ref}', 'assignees_url:/assignees{/user}', 'blobs_url:/git/blobs{/sha}', 'branches_url:/branches{/branch}',
    'collaborators_url:/collaborators{/collaborator}', 'comments_url:/comments{/number}', 'commits_url:/commits{/sha}', 'compare_url:/compare/{base}...{head}',
    'contents_url:/contents/{+path}', 'contributors_url:/contributors', 'deployments_url:/deployments', 'downloads_url:/downloads', 'events_url:/events',
    'forks_url:/forks', 'git_commits_url:/git/commits{/sha}', 'git_refs_url:/git/refs{/sha}', 'git_tags_url:/git/tags{/sha}', 'hooks_url:/hooks',
    'issue_comment_url:/issues/comments{/number}', 'issue_events_url:/issues/events{/number}', 'issues_url:/issues{/number}', 'keys_url:/keys{/key_id}',
    'labels_url:/labels{/name}', 'languages_url:/languages', 'merges_url:/merges', 'milestones_url:/milestones{/number}',
    'notifications_url:/notifications{?since,all,participating}', 'pulls_url:/pulls{/number}', 'releases_url:/releases{/id}', 'stargazers_url:/stargazers',
    'statuses_url:/statuses/{sha}', 'subscribers_url:/subscribers', 'subscription_url:/subscription', 'tags_url:/tags', 'teams_url:/teams', 'trees_url:/git/trees{/sha}']
    .map(entry => { const [key = '', path = ''] = entry.split(/:(.*)/); return [key, api + path] }))
  return {
    id: 1000 + randomInt(1000),
    node_id: 'R_stub',
    name,
    full_name: `${owner}/${name}`,
    owner: simpleUser(owner, 'Organization'),
    private: isPrivate,
    html_url: `https://github.com/${owner}/${name}`,
    description: null,
    fork: false,
    url: api,
    ...urls
  }
}

function fileContent (owner: string, repo: string, path: string, text: string) {
  const api = `https://api.github.com/repos/${owner}/${repo}/contents/${path}`
  return {
    type: 'file',
    encoding: 'base64',
    size: Buffer.byteLength(text),
    name: path.split('/').pop(),
    path,
    content: Buffer.from(text).toString('base64').replace(/(.{60})/g, '$1\n'),
    sha: 'f'.repeat(40),
    url: api,
    git_url: null,
    html_url: `https://github.com/${owner}/${repo}/blob/main/${path}`,
    download_url: null,
    _links: { self: api, git: null, html: null }
  }
}

function simpleUser (login: string, type: 'User' | 'Organization') {
  const api = `https://api.github.com/users/${login}`
  return {
    login,
    id: 100_000 + randomInt(100_000),
    node_id: 'U_stub',
    avatar_url: `https://avatars.githubusercontent.com/u/1?v=4`,
    gravatar_id: '',
    url: api,
    html_url: `https://github.com/${login}`,
    followers_url: `${api}/followers`,
    following_url: `${api}/following{/other_user}`,
    gists_url: `${api}/gists{/gist_id}`,
    starred_url: `${api}/starred{/owner}{/repo}`,
    subscriptions_url: `${api}/subscriptions`,
    organizations_url: `${api}/orgs`,
    repos_url: `${api}/repos`,
    events_url: `${api}/events{/privacy}`,
    received_events_url: `${api}/received_events`,
    type,
    site_admin: false
  }
}

function newGhsaId (taken: Set<string>): string {
  const part = () => Array.from({ length: 4 }, () => GHSA_ALPHABET[randomInt(GHSA_ALPHABET.length)]).join('')
  for (;;) {
    const id = `GHSA-${part()}-${part()}-${part()}`
    if (!taken.has(id)) return id
  }
}

// ---- plumbing ---------------------------------------------------------------------------

async function readBody (req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function parseBody (text: string): unknown {
  if (text === '') return undefined
  try {
    return JSON.parse(text)
  } catch {
    throw new HttpError(400, { message: 'Problems parsing JSON', documentation_url: DOCS, status: '400' }, ['body: not JSON'])
  }
}

function encodeCursor (offset: number): string {
  return Buffer.from(`cursor:v2:${offset}`).toString('base64url')
}

function decodeCursor (cursor: string): number {
  const offset = Number(/^cursor:v2:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString())?.[1])
  if (!Number.isInteger(offset)) throw new HttpError(422, { message: 'Validation Failed', errors: [{ resource: 'RepositoryAdvisory', field: 'after', code: 'invalid' }], status: '422' }, ['cursor: invalid'])
  return offset
}

function isoSeconds (d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

function lowerKeys (headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]))
}

function escape (s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function addFormats (a: Ajv): Ajv {
  // The response schema uses these three; ajv-formats is not a dependency of this project.
  a.addFormat('uri', { type: 'string', validate: s => URL.canParse(s) })
  a.addFormat('date-time', { type: 'string', validate: s => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(s) && !Number.isNaN(Date.parse(s)) })
  a.addFormat('int64', { type: 'number', validate: n => Number.isSafeInteger(n) })
  return a
}
