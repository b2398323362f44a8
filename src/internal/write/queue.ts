/**
 * The bounded hand-off between producers and the single writer: requests are counted against an
 * entry limit (requests) and a byte limit (framed payload bytes). A producer enqueues without an
 * Effect step when there is room, and the writer hears of every arrival (`onArrival`); it takes
 * everything queued by the time it runs, so concurrent appends share one batch.
 */
import { Effect, type Exit } from "effect"
import type { WalClosedError, WalPoisonedError } from "../../WalError.js"
import type { FrameKind } from "../format/constants.js"
import { Signal } from "../signal.js"

/** What a request asks of the writer. */
export const enum RequestKind {
  Append,
  Sync,
  Close
}

/** How the writer fails a request: the WAL stopped after an I/O failure, or closed. */
export type RequestError = WalPoisonedError | WalClosedError

/** One producer's request, completed by the writer through a callback (no Deferred per append). */
export class Request {
  /** Sequence of the first entry, set when the writer frames the request. */
  firstSequence = 0
  private exit: Exit.Exit<number, RequestError> | undefined
  private callback: ((exit: Exit.Exit<number, RequestError>) => void) | undefined

  constructor(
    readonly kind: RequestKind,
    readonly frameKind: FrameKind,
    readonly payloads: ReadonlyArray<Uint8Array>,
    /** Framed size of all payloads. */
    readonly bytes: number
  ) {}

  /** Completes the request; the first completion wins. */
  complete(exit: Exit.Exit<number, RequestError>): void {
    if (this.exit !== undefined) return
    this.exit = exit
    const callback = this.callback
    this.callback = undefined
    if (callback !== undefined) callback(exit)
  }

  /**
   * Registers `resume` as the waiter for the outcome (at once when it is already known), from the
   * registration of an `Effect.async`. Interrupting the waiter does not withdraw the request.
   *
   * There is deliberately no canceler: an interrupted fiber ignores a later `resume` (Effect calls
   * an async registration's resume at most once), and the request drops `resume` when the batch
   * completes it. A canceler per append cost a closure and an Effect, and it tied the request to
   * Effect's interrupt continuation: once V8 pretenured that continuation's allocation site (it
   * does so at random during warm-up), every request and payload survived into the old
   * generation, and 64 concurrent producers spent 5x the CPU per append (docs/design.md,
   * "No canceler per append").
   */
  listen(resume: (exit: Exit.Exit<number, RequestError>) => void): void {
    if (this.exit !== undefined) return resume(this.exit)
    this.callback = resume
  }

  /** Waits for completion. Interrupting the waiter does not withdraw the request. */
  get await(): Effect.Effect<number, RequestError> {
    return Effect.async<number, RequestError>((resume) => this.listen(resume))
  }
}

/** Requests waiting for the writer, with their entry and byte accounting. */
export class RequestQueue {
  private items: Array<Request> = []
  /** Called after every enqueue; the writer sets it. */
  onArrival: () => void = () => undefined
  /** Bytes held by requests that are queued or in the batch being written. */
  private heldBytes = 0
  /** Notified whenever entry slots or bytes are released: producers waiting for room retry. */
  readonly room = new Signal()

  constructor(
    /** Requests the queue holds before producers wait or are refused. */
    readonly capacity: number,
    /** Bytes the queue holds; a request larger than this waits for an otherwise empty queue. */
    readonly maxBytes: number
  ) {}

  /** Requests waiting for the writer. */
  get size(): number {
    return this.items.length
  }

  /** Bytes held by queued requests and by the batch being written. */
  get bytes(): number {
    return this.heldBytes
  }

  /** Bytes a request holds: a request over the limit holds the whole limit. */
  private held(request: Request): number {
    return Math.min(request.bytes, this.maxBytes)
  }

  /** Enqueues when there is room for the request's entry and bytes; says whether it did. */
  offer(request: Request): boolean {
    if (this.items.length >= this.capacity) return false
    const held = this.held(request)
    if (this.heldBytes > 0 && this.heldBytes + held > this.maxBytes) return false
    this.heldBytes += held
    this.push(request)
    return true
  }

  /** Enqueues whatever the limits say (the close request must always get through). */
  force(request: Request): void {
    this.heldBytes += this.held(request)
    this.push(request)
  }

  private push(request: Request): void {
    this.items.push(request)
    this.onArrival()
  }

  /** The queued requests, in order, without taking them (valid until the next change). */
  peek(): ReadonlyArray<Request> {
    return this.items
  }

  /** Takes every queued request, freeing their entry slots; their bytes stay held until `release`. */
  takeAll(): Array<Request> {
    const items = this.items
    if (items.length === 0) return []
    this.items = []
    this.room.notify()
    return items
  }

  /** Releases the bytes of requests the writer has finished with. */
  release(requests: ReadonlyArray<Request>): void {
    let released = 0
    for (const request of requests) released += this.held(request)
    if (released === 0) return
    this.heldBytes -= released
    this.room.notify()
  }
}
