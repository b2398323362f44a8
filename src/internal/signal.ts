/**
 * A versioned wake-up signal: the writer notifies after every batch, readers wait for the next
 * notification. Cheaper than a fresh `Deferred` per batch (nothing is allocated when nobody
 * waits), and free of the lost-wake-up race: a waiter names the version it last saw, so a
 * notification between its check and its wait still wakes it.
 *
 * A reader that waits again and again for as long as it lives (a tail) holds a `Listener`
 * instead: its waits register no canceller. A canceller makes `Effect.async` wrap the wait in an
 * interruption region, which measured about 4 µs per wake-up (twice what the rest of a tail's
 * wake-up costs); an interrupted wait leaves its wake-up in the listener, dropped when the reader
 * stops listening.
 */
import { Effect } from "effect"

/**
 * A reader's own place in a signal's wake-up list: at most one pending wake-up, held as the
 * resumption of the reader's wait and what it goes on with. Holding the two, rather than a closure
 * over them made at each wait, allocates nothing per wait: V8 allocates a function literal assigned
 * to a property (`listener.wake = () => ...`) in the old generation, where each dead one would keep
 * what it captured through young collections until a full one.
 */
export class Listener<A = unknown, E = unknown> {
  /** Resumes the reader's current wait, if it waits. */
  resume: ((effect: Effect.Effect<A, E>) => void) | undefined = undefined
  /** What the current wait goes on with once resumed. */
  next: Effect.Effect<A, E> | undefined = undefined

  /** Whether the reader waits. */
  get waiting(): boolean {
    return this.resume !== undefined
  }

  /** Ends the current wait: the reader goes on with `next`. */
  wake(): void {
    const resume = this.resume
    if (resume === undefined) return
    const next = this.next!
    this.resume = undefined
    this.next = undefined
    resume(next)
  }

  /** Drops the current wait without resuming it. */
  clear(): void {
    this.resume = undefined
    this.next = undefined
  }
}

/** Wakes every fiber waiting for a version newer than the one it saw. */
export class Signal {
  /** Increases by one with every notification. */
  version = 0
  private waiters: Array<() => void> = []
  private readonly listeners = new Set<{ wake(): void }>()

  /** Moves to the next version and wakes every waiter and every waiting listener. */
  notify(): void {
    this.version++
    for (const listener of this.listeners) listener.wake()
    const waiters = this.waiters
    if (waiters.length === 0) return
    this.waiters = []
    for (const wake of waiters) wake()
  }

  /** A listener for a reader that waits many times; `unlisten` it when the reader stops. */
  listen<A, E>(): Listener<A, E> {
    const listener = new Listener<A, E>()
    this.listeners.add(listener)
    return listener
  }

  /** The reader stopped: its listener, and a wake-up it may still hold, are dropped. */
  unlisten<A, E>(listener: Listener<A, E>): void {
    listener.clear()
    this.listeners.delete(listener)
  }

  /**
   * Waits through `listener` until the version differs from `seen`, then goes on with `next`
   * (what the reader does after the wait, so that no step is chained after it); goes on at once
   * when the version already differs. Interrupting the wait withdraws nothing: the listener keeps
   * the wake-up until the next notification or `unlisten`.
   */
  changedFor<A, E>(listener: Listener<A, E>, seen: number, next: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.async<A, E>((resume) => {
      if (this.version !== seen) return resume(next)
      listener.resume = resume
      listener.next = next
    })
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
