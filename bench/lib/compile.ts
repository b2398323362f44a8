/**
 * Compiles a benchmark entry point the way an application is shipped: esbuild bundles the
 * script with the library's TypeScript sources into one ES module, leaving every package
 * (`effect`, `@effect/*`, the peers) as an import Node resolves from node_modules, as it would for
 * code compiled with `tsc`. The result runs under plain `node`: no TypeScript loader thread, and
 * none of tsx's `__name` wrappers around every function it creates (which cost the WAL about a
 * sixth of its CPU per one-at-a-time append in a same-machine comparison).
 */
import * as NFS from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/** The part of esbuild's API used here (esbuild comes with tsx; loaded by name so typechecking never needs it). */
interface Esbuild {
  build(options: {
    readonly stdin: { readonly contents: string; readonly resolveDir: string; readonly sourcefile: string; readonly loader: "ts" }
    readonly bundle: true
    readonly platform: "node"
    readonly format: "esm"
    readonly target: string
    readonly packages: "external"
    readonly outfile: string
    readonly logLevel: "warning"
  }): Promise<unknown>
}

const bench = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "..")

/**
 * Compiles `source` (module text importing from bench/, e.g. `import "./w1-durable-one-at-a-time.ts"`)
 * to a file under bench/node_modules/.cache, from where Node finds the peers in bench/node_modules
 * and the library's dependencies in the repository's node_modules. Returns the file; the caller
 * removes it.
 */
export const compile = async (source: string, name: string): Promise<string> => {
  const esbuildName = "esbuild"
  const esbuild = (await import(esbuildName)) as Esbuild
  const outDir = Path.join(bench, "node_modules", ".cache", "effect-wal-bench")
  NFS.mkdirSync(outDir, { recursive: true })
  const outfile = Path.join(outDir, `${name}-${process.pid}.mjs`)
  await esbuild.build({
    stdin: { contents: source, resolveDir: bench, sourcefile: `${name}-entry.ts`, loader: "ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: `node${process.versions.node.split(".")[0]}`,
    packages: "external",
    outfile,
    logLevel: "warning"
  })
  return outfile
}
