/**
 * `--clock`, `--time-scale` and `--seed` (issue 11): the sandbox defaults to the virtual clock,
 * a time scale or Prometheus means the real one, and every contradiction is refused (exit 2,
 * an InputError naming both flags) before anything runs.
 * @module
 */
import assert from "node:assert/strict";
import { runArguments } from "../../lib/cli/run_args.ts";
import { InputError } from "../../lib/runner/mod.ts";

const BASE = ["staging", "v1.2.4"];

Deno.test("--sandbox leaves the clock to the sandbox unless one is asked for or implied", () => {
  assert.equal(runArguments("deploy", [...BASE, "--sandbox"]).clock, undefined);
  assert.equal(
    runArguments("deploy", [...BASE, "--sandbox", "--clock", "virtual"]).clock,
    "virtual",
  );
  assert.equal(runArguments("deploy", [...BASE, "--sandbox", "--clock", "real"]).clock, "real");
  assert.equal(runArguments("deploy", [...BASE, "--sandbox", "--time-scale", "120"]).clock, "real");
  assert.equal(
    runArguments("deploy", [...BASE, "--sandbox", "--prometheus", "http://127.0.0.1:9090"]).clock,
    "real",
  );
  assert.equal(runArguments("deploy", BASE).clock, undefined, "a real cluster: real time");
});

Deno.test("--seed is kept as given, and only simple words are taken", () => {
  assert.equal(runArguments("deploy", [...BASE, "--sandbox", "--seed", "run-17"]).seed, "run-17");
  assert.equal(runArguments("deploy", [...BASE, "--sandbox"]).seed, undefined);
  assert.throws(
    () => runArguments("deploy", [...BASE, "--sandbox", "--seed", "a b"]),
    (e: unknown) => e instanceof InputError && /--seed takes/.test(e.message),
  );
});

Deno.test("contradictory clock flags are refused with both flags named", () => {
  const cases: [string[], RegExp][] = [
    [["--sandbox", "--clock", "virtual", "--time-scale", "60"], /--time-scale.*--clock virtual/],
    [["--sandbox", "--clock", "virtual", "--prometheus", "http://127.0.0.1:9090"], /--prometheus/],
    [["--sandbox", "--clock", "fast"], /--clock takes virtual or real, got "fast"/],
    [["--clock", "virtual"], /--clock needs --sandbox/],
    [["--seed", "1"], /--seed needs --sandbox/],
    [["--sandbox", "--clock"], /--clock/],
  ];
  for (const [flags, message] of cases) {
    assert.throws(
      () => runArguments("deploy", [...BASE, ...flags]),
      (e: unknown) => e instanceof InputError && message.test(e.message),
      flags.join(" "),
    );
  }
});
