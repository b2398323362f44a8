/**
 * vitest globalSetup: makes the JavaScript the real-process tests run with plain node (see
 * test/processes.ts). `dist/` is built with the package's own build (`tsc -p tsconfig.build.json`)
 * unless it is newer than every file of `src/`; the examples and the fixtures are compiled file by
 * file (the project sets `isolatedModules`, so this is the JavaScript `tsc` would emit).
 */
import { execFileSync } from "node:child_process"
import * as NodeFs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import ts from "typescript"
import { compiled, compiledRoot, dist, processDirectories, root } from "../processes.js"

const newest = (dir: string): number =>
  Math.max(...NodeFs.readdirSync(dir, { withFileTypes: true }).map((entry) => {
    const path = Path.join(dir, entry.name)
    return entry.isDirectory() ? newest(path) : NodeFs.statSync(path).mtimeMs
  }))

const buildDist = () => {
  const built = Path.join(dist, "index.js")
  if (NodeFs.existsSync(built) && NodeFs.statSync(built).mtimeMs > newest(Path.join(root, "src"))) return
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" })
}

const compileProcesses = () => {
  NodeFs.rmSync(compiledRoot, { recursive: true, force: true })
  NodeFs.mkdirSync(compiledRoot, { recursive: true })
  // `../src/index.js` from a compiled example, `../../src/...` from a compiled fixture: the build.
  NodeFs.symlinkSync(dist, Path.join(compiledRoot, "src"), "dir")
  for (const dir of processDirectories) {
    for (const name of NodeFs.readdirSync(Path.join(root, dir)).filter((n) => n.endsWith(".ts"))) {
      const source = Path.join(dir, name)
      const output = ts.transpileModule(NodeFs.readFileSync(Path.join(root, source), "utf8"), {
        fileName: source,
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true }
      })
      NodeFs.mkdirSync(Path.dirname(compiled(source)), { recursive: true })
      NodeFs.writeFileSync(compiled(source), output.outputText)
    }
  }
}

export default function setup() {
  buildDist()
  compileProcesses()
}
