// GitHub App authentication end to end: the worker mints installation tokens with the
// app's private key (RS256 JWT) and files the advisory with one.
import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { startGateway } from '../helpers/gateway.js'
import { startGithubStub } from '../helpers/github-stub.js'
import { plainMessage } from '../helpers/messages.js'

t.test('a GitHub App installation files the advisory', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const stub = await startGithubStub({
    repos: ['StacklokLabs/security-reports'],
    app: { appId: '12345', installationId: 678, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }
  })
  t.teardown(stub.close)
  const gw = await startGateway(t, {
    GITHUB_API_URL: stub.url, GITHUB_APP_ID: '12345', GITHUB_APP_INSTALLATION_ID: '678',
    GITHUB_APP_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    GITHUB_OWNER: 'StacklokLabs', GITHUB_DEFAULT_REPO: 'security-reports'
  })
  await gw.post(plainMessage({ messageId: 'app@example.org' }))
  await gw.waitFor(() => stub.advisories.length === 1, 'advisory created')
  const tokenRequest = stub.requests.find((r) => r.path === '/app/installations/678/access_tokens')
  t.equal(tokenRequest?.status, 201, 'installation token minted with a valid app JWT')
  const create = stub.requests.find((r) => r.method === 'POST' && r.path.endsWith('/security-advisories'))
  t.match(String(create?.headers.authorization), /^token ghs_/, 'the advisory is created with the installation token')
  t.equal(stub.invalidRequests.length, 0)
})

t.test('a wrong app key is refused and nothing is filed', async (t) => {
  const right = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const wrong = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const stub = await startGithubStub({ repos: ['StacklokLabs/security-reports'], app: { appId: '1', installationId: 2, publicKeyPem: right.publicKey.export({ type: 'spki', format: 'pem' }).toString() } })
  t.teardown(stub.close)
  const gw = await startGateway(t, {
    GITHUB_API_URL: stub.url, GITHUB_APP_ID: '1', GITHUB_APP_INSTALLATION_ID: '2',
    GITHUB_APP_PRIVATE_KEY: wrong.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    GITHUB_OWNER: 'StacklokLabs', GITHUB_DEFAULT_REPO: 'security-reports', JOB_ATTEMPTS: '1'
  })
  const res = await gw.post(plainMessage({ messageId: 'app-wrong@example.org' }))
  await gw.waitFor(async () => (await gw.redis.hget(`${gw.prefix}:gw:quarantine`, res.id as string)) !== null, 'quarantined')
  t.equal(stub.advisories.length, 0)
  t.ok(stub.requests.some((r) => r.status === 401), 'GitHub (stub) said 401')
})
