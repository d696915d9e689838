/**
 * `deno task sandbox`: run the sandbox cluster in the foreground.
 *
 * Flags: --port, --scenario, --time-scale, --traffic-rate, --reset, --list-scenarios,
 * --state-dir (default .tracktion/sandbox). Bad flags, or a saved state that cannot be
 * loaded (corrupt, or over the sandbox's limits: `--reset` discards it), exit 2 with
 * nothing changed. On SIGINT/SIGTERM it stops (state saved) and exits 0.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { SandboxRunningError, SandboxStateError, SCENARIOS, startSandbox } from "./mod.ts";

function usage(message: string): never {
  console.error(`error: ${message}`);
  console.error(
    "usage: deno task sandbox [--port N] [--scenario NAME] [--time-scale N] [--traffic-rate N] [--reset] [--state-dir DIR] [--list-scenarios]",
  );
  Deno.exit(2);
}

async function main(args: string[]): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        port: { type: "string" },
        scenario: { type: "string" },
        "time-scale": { type: "string" },
        "traffic-rate": { type: "string" },
        reset: { type: "boolean" },
        "state-dir": { type: "string" },
        "list-scenarios": { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    usage((error as Error).message);
  }
  if (values["list-scenarios"]) {
    for (const [name, description] of Object.entries(SCENARIOS)) {
      console.log(`${name.padEnd(16)} ${description}`);
    }
    return;
  }
  const num = (flag: string, raw: string | undefined): number | undefined => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n)) usage(`--${flag} must be a number, got "${raw}"`);
    return n;
  };
  const port = num("port", values.port);
  const timeScale = num("time-scale", values["time-scale"]);
  const trafficRate = num("traffic-rate", values["traffic-rate"]);
  let sandbox;
  try {
    sandbox = await startSandbox({
      stateDir: values["state-dir"] ?? ".tracktion/sandbox",
      ...(port !== undefined ? { port } : {}),
      ...(values.scenario !== undefined ? { scenario: values.scenario } : {}),
      ...(timeScale !== undefined ? { timeScale } : {}),
      ...(trafficRate !== undefined ? { trafficRate } : {}),
      reset: values.reset ?? false,
    });
  } catch (error) {
    if (error instanceof RangeError) usage(error.message);
    if (error instanceof SandboxRunningError || error instanceof SandboxStateError) {
      console.error(`error: ${error.message}`);
      Deno.exit(2);
    }
    throw error;
  }
  console.log(`sandbox ready: server=${sandbox.url} kubeconfig=${sandbox.kubeconfigPath}`);
  const { promise, resolve } = Promise.withResolvers<void>();
  const onSignal = () => resolve();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  await promise;
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  await sandbox.stop();
}

if (import.meta.main) {
  await main(Deno.args);
  // Stopped and saved: nothing left to wait for, even if a client still holds a socket.
  Deno.exit(0);
}
