// A run given up at shutdown must not go on doing things the next run will redo. Every
// side effect in the pipeline sits between two progress records, so a progress store
// that refuses to continue once the run is abandoned stops it at the next boundary:
// what already happened is still recorded (the write goes first), nothing new starts.
import type { ProgressStore } from '../store/progress.js'

export class Abandoned extends Error {
  constructor () {
    super('run abandoned at shutdown; the job went back to the queue')
    this.name = 'Abandoned'
  }
}

export function abandonable (store: ProgressStore, signal: AbortSignal): ProgressStore {
  const check = () => { if (signal.aborted) throw new Abandoned() }
  return {
    ...store,
    async open (id) {
      check()
      const progress = await store.open(id)
      return {
        ...progress,
        async record (fields, also) {
          await progress.record(fields, also)
          check()
        }
      }
    }
  }
}
