/**
 * The example's page: a journal. Entries typed here are appended by the worker; the list shows
 * what the worker's `replay` and `tail` report, so it is rebuilt from the log on every reload and
 * shows an entry only once it is in the log. An entry is marked saved when its append is
 * acknowledged, that is, durable.
 */
import type { Event, Request } from "./protocol.js"

interface Elements {
  readonly form: { onsubmit: ((event: { preventDefault(): void }) => void) | null }
  readonly input: { value: string; disabled: boolean }
  readonly list: { prepend(node: unknown): void }
  readonly status: { textContent: string }
}

const browser = globalThis as unknown as {
  readonly document: {
    getElementById(id: string): unknown
    createElement(tag: string): { textContent: string; title: string }
  }
  readonly Worker: new(url: URL, options: { readonly type: "module" }) => {
    onmessage: (message: { readonly data: Event }) => void
    postMessage(request: Request): void
  }
}
const element = <K extends keyof Elements>(id: K): Elements[K] => browser.document.getElementById(id) as Elements[K]

const worker = new browser.Worker(new URL("./worker.js", import.meta.url), { type: "module" })
let nextId = 0
let entries = 0

worker.onmessage = ({ data: event }) => {
  switch (event.type) {
    case "ready":
      element("status").textContent = `${event.replayed} entries replayed from OPFS (${event.recovery})`
      element("input").disabled = false
      break
    case "entry": {
      const item = browser.document.createElement("li")
      item.textContent = `#${event.seq} ${event.text}`
      item.title = new Date(event.timestamp).toISOString()
      element("list").prepend(item)
      entries++
      break
    }
    case "acked":
      element("status").textContent = `entry #${event.seq} saved; ${entries} entries in the log`
      break
    case "failed":
      element("status").textContent = `failed: ${event.error}`
      break
  }
}

element("form").onsubmit = (event) => {
  event.preventDefault()
  const text = element("input").value.trim()
  if (text === "") return
  worker.postMessage({ id: nextId++, type: "append", text })
  element("input").value = ""
}
