/**
 * Node built-in modules, loaded only where the runtime has them. The core imports no `node:*`
 * module statically, so a bundler targeting the browser resolves its whole import graph; the few
 * features that need Node (the native checksum binding, gzip, the host name in a lock file) ask
 * for the module when they first run and work without it where they can.
 */
import type * as NodeModule from "node:module"
import type * as NodeOs from "node:os"
import type * as NodeZlib from "node:zlib"

interface BuiltinModules {
  readonly "node:module": typeof NodeModule
  readonly "node:os": typeof NodeOs
  readonly "node:zlib": typeof NodeZlib
}

/**
 * The built-in module `id` through `process.getBuiltinModule` (Node 20.16 and later, Bun, Deno),
 * `undefined` where there is none (a browser).
 */
export const nodeBuiltin = <Id extends keyof BuiltinModules>(id: Id): BuiltinModules[Id] | undefined => {
  const runtime = (globalThis as { readonly process?: { readonly getBuiltinModule?: (id: string) => unknown } }).process
  return runtime?.getBuiltinModule?.(id) as BuiltinModules[Id] | undefined
}
