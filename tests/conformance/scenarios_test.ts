/**
 * The three client files implement the same scenario list: every scenario of
 * `_scenarios.ts`, nothing else, and each ignored one names why.
 * @module
 */
import assert from "node:assert/strict";
import { type Implementations, SCENARIOS } from "./_scenarios.ts";
import { KUBECTL } from "./kubectl_test.ts";
import { CLIENT_NODE } from "./client_node_test.ts";
import { PYTHON_CLIENT } from "./python_test.ts";

const CLIENTS: Record<string, Implementations> = {
  kubectl: KUBECTL,
  "client-node": CLIENT_NODE,
  "python client": PYTHON_CLIENT,
};

Deno.test("conformance: kubectl, client-node and the Python client each implement every scenario", () => {
  const names = Object.keys(SCENARIOS);
  assert.ok(names.length >= 20, "the list covers issue 18's scenarios");
  for (const [client, impls] of Object.entries(CLIENTS)) {
    assert.deepEqual(Object.keys(impls), names, `${client}: the scenarios, in order`);
    for (const [name, impl] of Object.entries(impls)) {
      const run = typeof impl === "function" ? impl : impl.run;
      assert.equal(typeof run, "function", `${client}: ${name} runs something`);
    }
  }
});

Deno.test("conformance: no client ignores a scenario (an ignored one would name why)", () => {
  const ignored = (impls: Implementations) =>
    Object.entries(impls).flatMap(([name, impl]) =>
      typeof impl === "function" || impl.ignore === undefined ? [] : [[name, impl.ignore]]
    );
  const expected: string[][] = [];
  for (const [client, impls] of Object.entries(CLIENTS)) {
    assert.deepEqual(ignored(impls), expected, client);
  }
});
