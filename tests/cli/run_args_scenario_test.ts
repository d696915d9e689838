/**
 * `--scenario` takes the sandbox's faults and the companions' (`unsigned-image[/svc+svc]`,
 * `redis-wrong-password`), alone or together; anything else is refused before anything runs.
 * @module
 */
import assert from "node:assert/strict";
import { runArguments } from "../../lib/cli/run_args.ts";
import { InputError } from "../../lib/runner/mod.ts";

const BASE = ["production", "v1.2.4", "--sandbox"];
const scenario = (s: string) => runArguments("deploy", [...BASE, "--scenario", s]).scenario;

Deno.test("--scenario keeps companion faults beside the sandbox's own", () => {
  assert.equal(scenario("unsigned-image/tracklist-service"), "unsigned-image/tracklist-service");
  assert.equal(scenario("unsigned-image"), "unsigned-image");
  assert.equal(scenario("redis-wrong-password"), "redis-wrong-password");
  assert.equal(
    scenario("high-error-rate@4m, unsigned-image/a+b"),
    "high-error-rate@4m,unsigned-image/a+b",
  );
  assert.equal(scenario("none"), undefined);
});

Deno.test("--scenario refuses an unknown name, even beside a companion fault", () => {
  for (const bad of ["unsigned-imag", "redis-wrong-password,chaos-monkey"]) {
    assert.throws(
      () => scenario(bad),
      (e) => e instanceof InputError && /scenario/i.test(e.message),
    );
  }
});
