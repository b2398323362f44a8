/**
 * A versioned wake-up signal: the writer notifies after every batch, readers wait for the next
 * notification. Cheaper than a fresh `Deferred` per batch (nothing is allocated when nobody
 * waits), and free of the lost-wake-up race: a waiter names the version it last saw, so a
 * notification between its check and its wait still wakes it.
 */
import { Effect } from "effect"

/** Wakes every fiber waiting for a version newer than the one it saw. */
export class Signal {
  /** Increases by one with every notification. */
  version = 0
  private waiters: Array<() => void> = []

  /** Moves to the next version and wakes every waiter. */
  notify(): void {
    this.version++
    const waiters = this.waiters
    if (waiters.length === 0) return
    this.waiters = []
    for (const wake of waiters) wake()
  }

  /** Waits until the version differs from `seen`; returns at once when it already does. */
  changedSince(seen: number): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      if (this.version !== seen) return resume(Effect.void)
      const wake = () => resume(Effect.void)
      this.waiters.push(wake)
      return Effect.sync(() => {
        const at = this.waiters.indexOf(wake)
        if (at >= 0) this.waiters.splice(at, 1)
      })
    })
  }
}
