// A partial run (BENCH_ONLY) updates only its own sections of BENCHMARKS.md: the other
// sections and their target rows stay as the last full run wrote them, and the header
// says which sections are newer. A full run rewrites the file.
import type { Target } from './lib.js'

/** The `## N.` heading number of a section ("4c"), its identity across runs. */
function sectionId (section: string): string | undefined {
  return /^## (\d+[a-z]?)\./.exec(section)?.[1]
}

function splitSections (markdown: string): { head: string, sections: string[] } {
  const parts = markdown.split(/\n(?=## )/)
  return { head: parts[0] ?? '', sections: parts.slice(1).map((s) => s.trimEnd()) }
}

function targetRows (section: string): string[] {
  return section.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| measure') && !line.startsWith('|---'))
}

/** A measure's identity: its name without the setting that won this run ("best: DECRYPT_THREADS=1"). */
function measureKey (name: string): string {
  return name.replace(/DECRYPT_THREADS=\d+/g, 'DECRYPT_THREADS=N')
}

/**
 * The old file with `fresh` sections put in place of theirs (or added, in heading order),
 * target rows of the measures re-run replaced, the others kept.
 */
export function mergeSections (old: string, fresh: string[], targets: Target[], note: string): string {
  const { head, sections } = splitSections(old)
  const targetsSection = sections.find((s) => s.startsWith('## Targets'))
  const byId = new Map(sections.filter((s) => sectionId(s) !== undefined).map((s) => [sectionId(s) as string, s]))
  for (const s of fresh) byId.set(sectionId(s) ?? s, s.trimEnd())
  const ordered = [...byId.entries()].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([, s]) => s)
  const names = new Set(targets.map((t) => measureKey(t.name)))
  const kept = targetRows(targetsSection ?? '').filter((row) => !names.has(measureKey(row.slice(2).split(' | ')[0] ?? '')))
  const rows = [...kept, ...targets.map((t) => `| ${t.name} | ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`)]
  return `${head.trimEnd()}\n${note}\n\n## Targets\n\n| measure | target | measured | met |\n|---|---|---|---|\n${rows.join('\n')}\n\n${ordered.join('\n\n')}\n`
}
