// A small StacklokLabs on the GitHub stub: repositories with manifests and CODEOWNERS,
// users and teams, and a gateway routed with docs/routing.example.yaml. Used by the
// triage corpus and follow-up tests.
import type { Test } from 'tap'
import { fileURLToPath } from 'node:url'
import { startGithubStub, type Advisory, type GithubStub } from './github-stub.js'
import { startGateway, type Gateway } from './gateway.js'
import { intakeMarker } from '../../src/advisory/marker.js'

export const OWNER = 'StacklokLabs'
export const ROUTING_FILE = fileURLToPath(new URL('../../docs/routing.example.yaml', import.meta.url))

export async function stacklokLabs (t: Test, env: Record<string, string> = {}): Promise<{ stub: GithubStub, gw: Gateway, advisoryOf: (id: string) => Advisory | undefined }> {
  const stub = await startGithubStub({
    token: 'ghp_test',
    repos: ['toolhive', 'fetch', 'gofetch', 'osv-mcp', 'mkp', 'security-reports', 'yardstick'].map((r) => `${OWNER}/${r}`),
    files: {
      [`${OWNER}/toolhive`]: { 'go.mod': 'module github.com/stacklok/toolhive\n\ngo 1.24\n', '.github/CODEOWNERS': '# owners\n* @StacklokLabs/maintainers @jhrozek\n/docs/ @docs-writer\n' },
      [`${OWNER}/fetch`]: { 'package.json': '{"name": "@stacklok/fetch-mcp", "version": "0.4.1"}', CODEOWNERS: '* @alice\n/src/ @bob\n' },
      [`${OWNER}/gofetch`]: { 'go.mod': 'module github.com/StacklokLabs/gofetch\n', 'docs/CODEOWNERS': '* @gopher @StacklokLabs/security-team\n' },
      [`${OWNER}/osv-mcp`]: { 'go.mod': 'module github.com/StacklokLabs/osv-mcp\n' },
      [`${OWNER}/mkp`]: { 'Cargo.toml': '[package]\nname = "mkp"\nversion = "0.4.1"\n' },
      [`${OWNER}/yardstick`]: { 'pyproject.toml': '[project]\nname = "yardstick"\n' },
      [`${OWNER}/security-reports`]: { CODEOWNERS: '* @StacklokLabs/security-team\n' }
    },
    users: ['alice', 'bob', 'jhrozek', 'gopher', 'rita-sec', 'bob42', 'carol-h', 'dave-sec'],
    orgs: [OWNER],
    teams: [`${OWNER}/maintainers`, `${OWNER}/security-team`]
  })
  t.teardown(stub.close)
  const gw = await startGateway(t, {
    GITHUB_API_URL: stub.url, GITHUB_TOKEN: 'ghp_test', GITHUB_OWNER: OWNER, GITHUB_DEFAULT_REPO: 'security-reports',
    ROUTING_FILE, TEAM_NOTIFY_EMAIL: 'team@stacklok.com', ...env
  })
  const advisoryOf = (id: string): Advisory | undefined => stub.advisories.find((a) => a.description?.startsWith(intakeMarker(id)) === true)
  return { stub, gw, advisoryOf }
}
