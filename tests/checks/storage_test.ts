// storageCapacity where a stage runs it: a stage Worker has no `sys` permission (statfs), so
// the check reads `df -Pk` when granted `run: ["df"]`, with the same numbers statfs gives, and
// says which permission to declare when it has neither.
import assert from "node:assert/strict";
import { diskUsage, storageCapacity } from "../../checks/storage.ts";
import { fakeContext } from "./_support.ts";

Deno.test("storage: statfs (all permissions) and df agree on the filesystem's usage", async () => {
  const statfs = await diskUsage(".");
  const out = await new Deno.Command("df", { args: ["-Pk", "."], stdout: "piped" }).output();
  const [total, used] = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!
    .split(/\s+/).slice(1, 3).map((n) => Number(n) * 1024);
  assert.ok(Math.abs(statfs.totalBytes - total!) <= 1024 * 1024, "same size");
  // Other tests write meanwhile: within 1 GiB.
  assert.ok(Math.abs(statfs.usedBytes - used!) < 1024 ** 3, `${statfs.usedBytes} vs ${used}`);
});

Deno.test({
  name: "storage: with only run: [df] (a stage's grant) the check measures through df",
  permissions: { run: ["df"], read: false, sys: false },
  async fn() {
    const ok = await storageCapacity(".", { maxUsedPercent: 100 }).run(fakeContext());
    assert.equal(ok.ok, true, ok.message);
    const used = ok.evidence!.usedPercent as number;
    assert.ok(used > 0 && used < 100, String(used));
    assert.match(ok.message, new RegExp(`^\\. is ${used}% full$`));
    // The runbook's limit, below what the disk holds: refused with the numbers.
    const full = await storageCapacity(".", { maxUsedPercent: 0.1 }).run(fakeContext());
    assert.equal(full.ok, false);
    assert.match(full.message, new RegExp(`^\\. is ${used}% full \\(limit below 0\\.1%\\)$`));
  },
});

Deno.test({
  name: "storage: with neither sys nor run the check fails naming the permission to declare",
  permissions: { run: false, read: false, sys: false },
  async fn() {
    const check = storageCapacity("/var/lib/docker");
    assert.equal(check.required, true);
    const denied = await check.run(fakeContext());
    assert.equal(denied.ok, false);
    assert.match(denied.message, /^Cannot measure storage at \/var\/lib\/docker: no permission: /);
    assert.match(denied.message, /declare permissions\(\{ run: \["df"\] \}\)/);
  },
});

Deno.test({
  name: "storage: a path that does not exist fails with df's reason",
  permissions: { run: ["df"], read: false, sys: false },
  async fn() {
    const missing = await storageCapacity("/nonexistent/storage").run(fakeContext());
    assert.equal(missing.ok, false);
    assert.match(
      missing.message,
      /^Cannot measure storage at \/nonexistent\/storage: df .* failed: /,
    );
  },
});
