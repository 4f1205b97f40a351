// Extracts the few GitHub REST schemas the advisory tests validate against, from the
// official OpenAPI description, into a small committed fixture. @octokit/openapi is
// ~29 MB packed and ~400 MB unpacked, so it is fetched once into a temp dir here and
// never becomes a dependency. Run: npx tsx scripts/extract-github-schemas.ts

import { execFileSync } from 'node:child_process'
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const PACKAGE = '@octokit/openapi'
const VERSION = '23.0.2'
const SPEC_FILE = 'generated/api.github.com.json'
const OUT = fileURLToPath(new URL('../test/fixtures/github-schemas.json', import.meta.url))

const ADVISORIES = '/repos/{owner}/{repo}/security-advisories'
const OPERATIONS = {
  createRepositoryAdvisory: { method: 'post', path: ADVISORIES },
  updateRepositoryAdvisory: { method: 'patch', path: `${ADVISORIES}/{ghsa_id}` },
  listRepositoryAdvisories: { method: 'get', path: ADVISORIES },
  // Routing and enrichment reads (repository, manifests, CODEOWNERS, reporter, teams).
  reposGet: { method: 'get', path: '/repos/{owner}/{repo}' },
  reposGetContent: { method: 'get', path: '/repos/{owner}/{repo}/contents/{path}' },
  usersGetByUsername: { method: 'get', path: '/users/{username}' },
  teamsGetByName: { method: 'get', path: '/orgs/{org}/teams/{team_slug}' },
  // `advisory request-cve` and `advisory fork`. Their fixture entries were first written
  // by hand (no network): path params as in @octokit/openapi-types 29.0.1, 202 answers.
  createRepositoryAdvisoryCveRequest: { method: 'post', path: `${ADVISORIES}/{ghsa_id}/cve` },
  createFork: { method: 'post', path: `${ADVISORIES}/{ghsa_id}/forks` }
} as const
const COMPONENT_SCHEMAS = ['repository-advisory']

// OpenAPI-only annotations that Ajv's strict mode rejects as unknown keywords.
const DROP_KEYS = new Set(['example', 'externalDocs', 'xml', 'discriminator'])

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

async function main () {
  const dir = await mkdtemp(join(tmpdir(), 'openapi-'))
  try {
    const { spec, integrity } = await fetchSpec(dir)
    const fixture = {
      source: {
        package: PACKAGE,
        version: VERSION,
        integrity,
        file: SPEC_FILE,
        openapi: spec.openapi ?? null,
        generatedBy: 'scripts/extract-github-schemas.ts',
        changes: '$refs inlined; example/externalDocs/xml/discriminator/x-* dropped; {nullable, no type} rewritten as anyOf [schema, {type: null}]'
      },
      operations: extractOperations(spec),
      schemas: Object.fromEntries(COMPONENT_SCHEMAS.map(name =>
        [name, inline({ $ref: `#/components/schemas/${name}` }, spec, [])]))
    }
    const text = JSON.stringify(fixture, null, 2) + '\n'
    await mkdir(dirname(OUT), { recursive: true })
    await writeFile(OUT, text)
    console.log(`wrote ${OUT} (${Math.round(text.length / 1024)} KB)`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function fetchSpec (dir: string): Promise<{ spec: JsonObject, integrity: string | null }> {
  const out = execFileSync('npm', ['pack', `${PACKAGE}@${VERSION}`, '--json', '--pack-destination', dir],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  const packed = (JSON.parse(out) as Array<{ filename: string, integrity?: string }>)[0]
  if (packed === undefined) throw new Error('npm pack returned nothing')
  // Only the one spec file: the tarball holds ten of them (~400 MB unpacked).
  execFileSync('tar', ['-xzf', join(dir, packed.filename), '-C', dir, `package/${SPEC_FILE}`])
  const spec = JSON.parse(await readFile(join(dir, 'package', SPEC_FILE), 'utf8')) as JsonObject
  return { spec, integrity: packed.integrity ?? null }
}

function extractOperations (spec: JsonObject) {
  return Object.fromEntries(Object.entries(OPERATIONS).map(([name, { method, path }]) => {
    const op = asObject(lookup(spec, ['paths', path, method]), `${method} ${path}`)
    const body = lookup(op, ['requestBody', 'content', 'application/json', 'schema'])
    const params = Array.isArray(op.parameters) ? op.parameters.map(p => asObject(inline(p, spec, []), 'parameter')) : []
    const query = params.filter(p => p.in === 'query')
    const pathParams = params.filter(p => p.in === 'path')
    return [name, {
      operationId: op.operationId ?? null,
      method: method.toUpperCase(),
      path,
      requestBody: body === undefined ? null : inline(body, spec, []),
      // Query parameters as one object schema, so a stub can validate them with Ajv too.
      query: query.length === 0
        ? null
        : {
            type: 'object',
            properties: Object.fromEntries(query.map(p => [String(p.name), p.schema ?? {}])),
            additionalProperties: false
          },
      // Path parameters likewise (names and types only; GitHub documents no patterns).
      pathParams: pathParams.length === 0
        ? null
        : {
            type: 'object',
            properties: Object.fromEntries(pathParams.map(p => [String(p.name), p.schema ?? {}])),
            required: pathParams.map(p => String(p.name)),
            additionalProperties: false
          },
      successStatus: Number(Object.keys(asObject(op.responses, 'responses')).find(s => s.startsWith('2')))
    }]
  }))
}

// Replaces every $ref with a copy of its target so each schema stands alone. A cycle
// would make that infinite; none exists in these schemas, so fail loudly if one appears.
function inline (node: Json, spec: JsonObject, seen: string[]): Json {
  if (Array.isArray(node)) return node.map(n => inline(n, spec, seen))
  if (node === null || typeof node !== 'object') return node
  const ref = node.$ref
  if (typeof ref === 'string') {
    if (seen.includes(ref)) throw new Error(`cyclic $ref ${[...seen, ref].join(' -> ')}`)
    return inline(resolvePointer(spec, ref), spec, [...seen, ref])
  }
  if (node.nullable === true && node.type === undefined) return nullableWithoutType(node, spec, seen)
  const out: JsonObject = {}
  for (const [key, value] of Object.entries(node)) {
    if (DROP_KEYS.has(key) || key.startsWith('x-')) continue
    out[key] = key === 'properties' || key === 'patternProperties'
      ? mapValues(asObject(value, key), v => inline(v, spec, seen)) // keys are names, not keywords
      : key === 'enum' || key === 'default' || key === 'const' ? value : inline(value, spec, seen)
  }
  return out
}

// GitHub writes "nullable object" as {nullable: true, allOf: [$ref]}. Ajv only supports
// nullable next to `type`, so state the same thing as anyOf [schema, null].
function nullableWithoutType (node: JsonObject, spec: JsonObject, seen: string[]): Json {
  const { nullable, description, ...rest } = node
  return {
    ...(description === undefined ? {} : { description }),
    anyOf: [inline(rest, spec, seen), { type: 'null' }]
  }
}

function resolvePointer (spec: JsonObject, ref: string): Json {
  if (!ref.startsWith('#/')) throw new Error(`external $ref not supported: ${ref}`)
  const parts = ref.slice(2).split('/').map(p => p.replace(/~1/g, '/').replace(/~0/g, '~'))
  const target = lookup(spec, parts)
  if (target === undefined) throw new Error(`unresolved $ref ${ref}`)
  return target
}

function lookup (node: Json | undefined, parts: string[]): Json | undefined {
  let cur = node
  for (const part of parts) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined
    cur = cur[part]
  }
  return cur
}

function asObject (node: Json | undefined, what: string): JsonObject {
  if (node === null || node === undefined || typeof node !== 'object' || Array.isArray(node)) {
    throw new Error(`expected an object at ${what}`)
  }
  return node
}

function mapValues (obj: JsonObject, fn: (v: Json) => Json): JsonObject {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, fn(v)]))
}

await main()
