/**
 * `npm run example:browser`: bundles the journal's page and worker with esbuild and serves them on
 * http://127.0.0.1:5173 (a secure context, as OPFS requires; `PORT` changes the port). Open the
 * address in Chromium 121 or later; stop with Ctrl-C.
 */
import { build, stop } from "esbuild"
import { rmSync } from "node:fs"
import { copyFile, mkdtemp, readFile } from "node:fs/promises"
import { createServer } from "node:http"
import { tmpdir } from "node:os"
import { extname, join } from "node:path"

const here = new URL(".", import.meta.url).pathname
const out = await mkdtemp(join(tmpdir(), "effect-wal-journal-"))
await build({
  entryPoints: { page: join(here, "page.ts"), worker: join(here, "worker.ts") },
  outdir: out,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  logLevel: "warning"
})
await copyFile(join(here, "index.html"), join(out, "index.html"))
// The bundle is built once: stop esbuild's service process, and remove the bundle on exit.
await stop()
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    rmSync(out, { recursive: true, force: true })
    process.exit(0)
  })
}

const types: Record<string, string> = { ".html": "text/html", ".js": "text/javascript" }
const port = Number(process.env["PORT"] ?? 5173)
createServer((request, response) => {
  const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname
  const file = join(out, path === "/" ? "index.html" : path)
  readFile(file).then(
    (body) => {
      response.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" })
      response.end(body)
    },
    () => {
      response.writeHead(404)
      response.end()
    }
  )
}).listen(port, "127.0.0.1", () => console.log(`journal on http://127.0.0.1:${port}`))
