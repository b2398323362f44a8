/**
 * The page the browser tests open: it starts test/browser/worker.ts as a dedicated module worker
 * and exposes `window.call(request)`, which posts a request and resolves with the worker's reply.
 * Each acknowledgement the worker posts is passed on at once to `window.reportAck`, a function the
 * test exposes from Node, so the test learns every acknowledged sequence number as it happens.
 */
interface Reply {
  readonly id: number
  readonly result?: unknown
  readonly error?: string
}

interface TestWindow {
  call?: (request: unknown) => Promise<Reply>
  reportAck?: (seq: number) => Promise<void>
}

/** The `Worker` constructor, typed here: the project compiles without the DOM library. */
interface WorkerLike {
  onmessage: (event: { readonly data: Reply | { readonly acked: number } }) => void
  postMessage(message: unknown): void
}

const page = globalThis as unknown as TestWindow & {
  readonly Worker: new(url: URL, options: { readonly type: "module" }) => WorkerLike
}
const worker = new page.Worker(new URL("./worker.js", import.meta.url), { type: "module" })
const pending = new Map<number, (reply: Reply) => void>()
let nextId = 0

worker.onmessage = (event) => {
  const message = event.data
  if ("acked" in message) {
    void page.reportAck?.(message.acked)
    return
  }
  pending.get(message.id)?.(message)
  pending.delete(message.id)
}

page.call = (request) =>
  new Promise((resolve) => {
    const id = nextId++
    pending.set(id, resolve)
    worker.postMessage({ id, request })
  })
