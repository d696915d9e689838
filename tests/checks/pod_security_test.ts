// podSecurityEnforced against a real sandbox: the namespace's Pod Security Admission label,
// set and changed through the API as `kubectl label` does.
import assert from "node:assert/strict";
import { ENFORCE_LABEL, podSecurityEnforced } from "../../checks/pod_security.ts";
import { stageContext, withCluster } from "../kubernetes/_helpers.ts";

const NS = "tracktion-dev";
const NAMESPACE = { apiVersion: "v1", kind: "Namespace" };

Deno.test("pod security admission: the enforce label at least the minimum passes; none, weaker or unknown fails", async () => {
  await withCluster(async ({ k }) => {
    const label = (value: string | null) =>
      k.patch(NAMESPACE, null, NS, { metadata: { labels: { [ENFORCE_LABEL]: value } } }, "merge");
    const run = (o: Parameters<typeof podSecurityEnforced>[1] = {}) =>
      podSecurityEnforced(NS, o).run(stageContext(k));

    await label(null);
    let o = await run();
    assert.equal(o.ok, false);
    assert.match(
      o.message,
      /enforces no Pod Security Standard: label it: kubectl label namespace tracktion-dev pod-security.kubernetes.io\/enforce=baseline/,
    );

    await label("baseline");
    o = await run();
    assert.equal(o.ok, true, o.message);
    assert.equal(o.evidence?.enforce, "baseline");
    o = await run({ minimum: "restricted" });
    assert.equal(o.ok, false);
    assert.match(o.message, /enforces "baseline", weaker than "restricted"/);

    await label("restricted");
    assert.equal((await run({ minimum: "restricted" })).ok, true);
    assert.equal((await run()).ok, true, "stricter than the minimum passes");

    await label("privileged");
    o = await run();
    assert.equal(o.ok, false);
    assert.match(o.message, /enforces "privileged", weaker than "baseline"/);

    await label("strict");
    o = await run();
    assert.equal(o.ok, false);
    assert.match(o.message, /=strict, not one of privileged, baseline, restricted/);

    o = await podSecurityEnforced("no-such-ns").run(stageContext(k));
    assert.equal(o.ok, false);
    assert.match(o.message, /Namespace no-such-ns does not exist/);
  });
});
