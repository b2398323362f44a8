/**
 * Testing a service built on effect-wal: crash the process in the middle of it and start it again
 * on the same in-memory disk, the way `test/crash/` tests the WAL itself.
 *
 * ```ts
 * it.effect("no acknowledged event is lost", () =>
 *   Testing.crashAndReopen(AppLive, {
 *     before: Effect.flatMap(Events, (events) => events.append({ id: 1 })),
 *     after: () => Effect.flatMap(Events, (events) => Stream.runCollect(events.replay()))
 *   }).pipe(Effect.provide(MemoryFileSystem.layer)))
 * ```
 *
 * @since 0.2.0
 */
import { Effect, Exit, Layer, Scope } from "effect"
import * as MemoryFileSystem from "./MemoryFileSystem.js"

/**
 * What `crashAndReopen` runs: `before` on the first life of the layer, `after` (given what
 * `before` returned) on the second, and how the crash between them ends the first.
 *
 * @since 0.2.0
 * @category models
 */
export interface CrashAndReopenOptions<ROut, A, E1, B, E2> {
  /** Runs on the services of the first life; the process dies as soon as it ends. */
  readonly before: Effect.Effect<A, E1, ROut>
  /** Runs on the services rebuilt after the crash. */
  readonly after: (before: A) => Effect.Effect<B, E2, ROut>
  /**
   * Without it, a process crash: everything that reached the operating system survives,
   * synced or not. With it, a power loss on top: `MemoryFileSystem`'s `crash` with these options
   * keeps only some of what was not synced, chosen by the seed.
   */
  readonly powerLoss?: MemoryFileSystem.CrashOptions
}

/**
 * Builds `layer` (an application's services, on the `MemoryFileSystem` in the context), runs
 * `before`, then kills the process: the filesystem is halted so that nothing more reaches it, the
 * layer's scope is closed as a dying process would leave it (finalizers find the disk gone: no
 * WAL flushes or releases its lock), and optionally a power loss drops unsynced writes. Then the
 * layer is built again on the same disk, which recovers every WAL in it, and `after` runs.
 * Failures of the first life's finalizers are expected and ignored.
 *
 * @since 0.2.0
 * @category utils
 */
export const crashAndReopen = <ROut, E, RIn, A, E1, B, E2>(
  layer: Layer.Layer<ROut, E, RIn>,
  options: CrashAndReopenOptions<ROut, A, E1, B, E2>
): Effect.Effect<B, E | E1 | E2, RIn | MemoryFileSystem.Control> =>
  Effect.gen(function*() {
    const control = yield* MemoryFileSystem.Control
    const firstLife = yield* Scope.make()
    const result = yield* Effect.flatMap(Layer.buildWithScope(layer, firstLife), (services) =>
      Effect.provide(options.before, services)).pipe(
        Effect.onExit((exit) => Exit.isSuccess(exit) ? Effect.void : Scope.close(firstLife, exit))
      )
    yield* control.haltAfter(0)
    yield* Effect.exit(Scope.close(firstLife, Exit.void))
    if (options.powerLoss === undefined) yield* control.resume
    else yield* control.crash(options.powerLoss)
    return yield* Effect.scoped(
      Effect.flatMap(Layer.build(layer), (services) => Effect.provide(options.after(result), services))
    )
  })
