/**
 * The Worker guard's part for Node's modules, loaded as the Worker starts when the pipeline's
 * module graph imports any of Node's modules that can print, or an npm package (which may
 * reach them by any route): it loads `node:process`, `node:console` and `node:fs` and reroutes
 * their output at once ({@linkcode guardNode}). Loading Node's compatibility layer costs a
 * Worker ~35 ms of CPU, so a pipeline that does not need it does not pay it: its Workers
 * reroute Node's output the first time the global `process` is read
 * (`guardNodeOnFirstUse`, `./worker_guard.ts`). It imports `./worker_guard.ts` itself.
 * @module
 */
import process from "node:process";
import nodeConsole from "node:console";
import fs from "node:fs";
import { guardNode, type NodeOutputs } from "./worker_guard.ts";

guardNode({ process, console: nodeConsole, fs: fs as unknown as NodeOutputs["fs"] });
