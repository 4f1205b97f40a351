// A Curve25519 team key made with generateTeamKey, once per test file (tap runs each
// file in its own process), and its loaded keyring.
import { generateTeamKey, loadTeamKeyring, type GenerateTeamKeyOptions, type GeneratedTeamKey } from '../../src/pgp/keyring.js'
import type { TeamKeyring } from '../../src/pgp/types.js'

export interface TeamKeyFixture extends GeneratedTeamKey {
  keyring: TeamKeyring
}

let shared: Promise<TeamKeyFixture> | undefined

/** The file's team key (security@example.org). */
export async function teamKey (): Promise<TeamKeyFixture> {
  shared ??= makeTeamKey()
  return await shared
}

/** A fresh team key, for rotation and wrong-key tests. */
export async function makeTeamKey (opts: Partial<GenerateTeamKeyOptions> = {}): Promise<TeamKeyFixture> {
  const generated = await generateTeamKey({ email: 'security@example.org', name: 'Security Team', ...opts })
  const keyring = await loadTeamKeyring({ armored: [generated.armoredSecret], ...(opts.passphrase === undefined ? {} : { passphrase: opts.passphrase }) })
  return { ...generated, keyring }
}
