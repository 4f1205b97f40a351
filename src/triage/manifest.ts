// The package a repository publishes, from its manifest, for the advisory's
// `vulnerabilities[].package`. The files come from GitHub (the repository's own
// manifests, not the report), but are still parsed defensively and bounded.
import type { Ecosystem } from '../domain/advisory.js'

export interface PackageRef {
  ecosystem: Ecosystem
  name: string | null
}

/** Checked in this order; the first one present decides. */
export const MANIFESTS = ['package.json', 'go.mod', 'Cargo.toml', 'pyproject.toml', 'setup.py'] as const
export type ManifestFile = typeof MANIFESTS[number]

const NAME_MAX = 214

export function packageFromManifest (file: ManifestFile, content: string): PackageRef | undefined {
  const text = content.slice(0, 512 * 1024)
  switch (file) {
    case 'package.json': {
      let name: unknown
      try { name = (JSON.parse(text) as { name?: unknown }).name } catch { return undefined }
      return typeof name === 'string' && /^(?:@[a-z0-9._~-]+\/)?[a-z0-9._~-]+$/i.test(name) && name.length <= NAME_MAX
        ? { ecosystem: 'npm', name }
        : { ecosystem: 'npm', name: null }
    }
    case 'go.mod': {
      const name = /^\s*module\s+"?([^\s"]+)"?\s*$/m.exec(text)?.[1]
      return { ecosystem: 'go', name: name !== undefined && name.length <= NAME_MAX ? name : null }
    }
    case 'Cargo.toml':
      return { ecosystem: 'rust', name: tomlName(text, ['package']) }
    case 'pyproject.toml':
      return { ecosystem: 'pip', name: tomlName(text, ['project', 'tool.poetry']) }
    case 'setup.py': {
      const name = /\bname\s*=\s*["']([A-Za-z0-9._-]{1,100})["']/.exec(text)?.[1]
      return { ecosystem: 'pip', name: name ?? null }
    }
  }
}

// `name = "x"` inside one of the given [tables]: enough TOML for a package name.
function tomlName (text: string, tables: string[]): string | null {
  let table = ''
  for (const line of text.split(/\r?\n/)) {
    const header = /^\s*\[([^\]]+)\]\s*(?:#.*)?$/.exec(line)
    if (header !== null) { table = (header[1] ?? '').trim(); continue }
    if (!tables.includes(table)) continue
    const m = /^\s*name\s*=\s*["']([A-Za-z0-9._-]{1,100})["']/.exec(line)
    if (m !== null) return m[1] ?? null
  }
  return null
}
