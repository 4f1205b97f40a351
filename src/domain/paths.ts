// KEYS_DIR is committed, copied into images and read by the web role: a secret key file
// must never be inside it. One containment test for every place that checks.
import { isAbsolute, relative, resolve } from 'node:path'

/** `path` is `dir` itself or below it (a name like `..x` inside it included). */
export function isInside (dir: string, path: string): boolean {
  const rel = relative(resolve(dir), resolve(path))
  return rel !== '..' && !rel.startsWith('../') && !isAbsolute(rel)
}
