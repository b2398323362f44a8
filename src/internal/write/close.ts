/**
 * Closing an open WAL, the finaliser of its scope: intake stops (new appends fail with
 * `WalClosedError`), the writer serves everything queued before the close request and stops, what
 * is left in the queue fails, and tails and the byte stream end. Close owns `CloseStatus`; it
 * notifies the committed signal only once the writer has stopped.
 */
import { Effect, Exit, Fiber, Option, Scope } from "effect"
import { WalClosedError } from "../../WalError.js"
import { FrameKind } from "../format/constants.js"
import type { PressureGauge } from "../metrics.js"
import { Request, RequestKind, type RequestQueue } from "./queue.js"
import type { WriterState } from "./writer.js"

/** Whether the WAL is closing or closed: owned by close, read by producers and readers. */
export interface CloseStatus {
  /** Set when the scope begins closing: producers fail from then on. */
  closing: boolean
  /** Set once the writer has stopped: tails and the byte stream end. */
  closed: boolean
}

/** What closing needs. */
export interface CloseContext {
  readonly directory: string
  readonly state: WriterState
  readonly status: CloseStatus
  readonly queue: RequestQueue
  readonly writer: Fiber.Fiber<void>
  readonly writerScope: Scope.CloseableScope
  readonly pressure: PressureGauge
}

/** Closes the WAL; see the module's doc. */
export const close = (ctx: CloseContext): Effect.Effect<void> =>
  Effect.gen(function*() {
    const { queue, status } = ctx
    status.closing = true
    if (Option.isNone(yield* Fiber.poll(ctx.writer))) {
      queue.force(new Request(RequestKind.Close, FrameKind.data, [], 0))
      yield* Fiber.await(ctx.writer)
    }
    const closed = new WalClosedError({ directory: ctx.directory })
    const left = queue.takeAll()
    for (const request of left) request.complete(Exit.fail(closed))
    queue.release(left)
    yield* Scope.close(ctx.writerScope, Exit.void)
    status.closed = true
    ctx.state.committedSignal.notify()
    // Producers still waiting for room wake, see the WAL closing and fail with WalClosedError.
    queue.room.notify()
    ctx.pressure.close()
  })
