/**
 * The JavaScript the real-process tests run with plain `node` (no tsx): the package's build in
 * `dist/` (its `effect-wal` binary is `dist/bin/cli.js`), and the examples and the child-process
 * fixtures compiled next to a `src` link to `dist/`, so their `../src/index.js` imports load the
 * build. `test/setup/build.ts` (vitest's globalSetup) makes them once per test run.
 */
import { spawn } from "node:child_process"
import * as Path from "node:path"

/** The repository root. */
export const root = Path.resolve(import.meta.dirname, "..")

/** The package's build. */
export const dist = Path.join(root, "dist")

/** Where the examples and fixtures are compiled to. */
export const compiledRoot = Path.join(root, "node_modules", ".cache", "effect-wal-test")

/** The directories of TypeScript run as processes, relative to the root: every file in them is compiled. */
export const processDirectories = ["examples", Path.join("test", "fixtures")]

/** The compiled JavaScript of `source` (a path relative to the root, such as `examples/quickstart.ts`). */
export const compiled = (source: string): string => Path.join(compiledRoot, source.replace(/\.ts$/, ".js"))

/** Starts `script` (compiled JavaScript) with plain node, its stdin, stdout and stderr piped. */
export const startNode = (script: string, args: ReadonlyArray<string>, options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {}) =>
  spawn(process.execPath, [script, ...args], { ...options, stdio: "pipe" })
