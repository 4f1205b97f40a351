// `node --import ./test/helpers/loaded-modules.mjs ...`: appends the URL of every module
// the process loads to the file named by LOADED_MODULES_FILE (module hooks run on their
// own thread, so they write to a file, not to the process's output).
import { register } from 'node:module'

const hooks = `
import { appendFileSync } from 'node:fs'
const file = process.env.LOADED_MODULES_FILE
export async function resolve (specifier, context, next) {
  const resolved = await next(specifier, context)
  if (file) appendFileSync(file, resolved.url + '\\n')
  return resolved
}
`
register(`data:text/javascript,${encodeURIComponent(hooks)}`)
