/**
 * The bounded hand-off between producers and the single writer: requests are counted against an
 * entry limit (requests) and a byte limit (framed payload bytes). A producer enqueues without an
 * Effect step when there is room; the writer sleeps only when the queue is empty and, once woken,
 * takes everything queued by the time it runs, so concurrent appends share one batch.
 */
import { Effect } from "effect"
import { Signal } from "./signal.js"
import type { Request } from "./writer.js"

/** Requests waiting for the writer, with their entry and byte accounting. */
export class RequestQueue {
  private items: Array<Request> = []
  private wakeWriter: (() => void) | undefined
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
    const wake = this.wakeWriter
    if (wake !== undefined) {
      this.wakeWriter = undefined
      wake()
    }
  }

  /** Waits until at least one request is queued (for the single writer only). */
  readonly nonEmpty: Effect.Effect<void> = Effect.async<void>((resume) => {
    if (this.items.length > 0) return resume(Effect.void)
    this.wakeWriter = () => resume(Effect.void)
    return Effect.sync(() => {
      this.wakeWriter = undefined
    })
  })

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
