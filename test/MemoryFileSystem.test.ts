import { NodeFileSystem } from "@effect/platform-node"
import * as MemoryFileSystem from "../src/MemoryFileSystem.js"
import { fileSystemContract } from "./fileSystemContract.js"

fileSystemContract("NodeFileSystem", NodeFileSystem.layer)
fileSystemContract("MemoryFileSystem", MemoryFileSystem.layer)
