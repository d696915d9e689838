// deployment.approvals is validated like every field: a malformed key, a duplicate e-mail and
// required above the approvers listed each exit 2 naming file, line and field.
import assert from "node:assert/strict";
import { approvalPolicyOf } from "../../lib/approval/policy.ts";
import { loadEnvironment } from "../../lib/config/mod.ts";

async function validate(production: string) {
  const dir = await Deno.makeTempDir({ prefix: "approvals-config-" });
  await Deno.writeTextFile(`${dir}/production.yml`, production);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "lib/cli/main.ts",
      "config",
      "validate",
      "production",
      "--environments-dir",
      dir,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(dir, { recursive: true });
  const d = new TextDecoder();
  return { code: out.code, text: d.decode(out.stdout) + d.decode(out.stderr) };
}

const base = await Deno.readTextFile("environments/production.yml");
const lineOf = (text: string, needle: string) =>
  text.split("\n").findIndex((l) => l.includes(needle)) + 1;

Deno.test("production's policy: two of two named approvers, valid 24 h", async () => {
  const policy = approvalPolicyOf(await loadEnvironment("production"));
  assert.equal(policy.required, 2);
  assert.equal(policy.approvers.length, 2);
  assert.equal(policy.validForMs, 86_400_000);
  assert.equal(approvalPolicyOf(await loadEnvironment("staging")).required, 0);
  assert.equal((await validate(base)).code, 0);
});

Deno.test("a malformed public key names file, line and field", async () => {
  const text = base.replace(/public_key: MCow\S+/, "public_key: MCowBQYDK2VwAyEAnotakey");
  const r = await validate(text);
  assert.equal(r.code, 2);
  const line = lineOf(text, "MCowBQYDK2VwAyEAnotakey");
  assert.match(
    r.text,
    new RegExp(
      `production.yml:${line}:\\d+: deployment.approvals.approvers.0.public_key: expected an Ed25519 public key`,
    ),
  );
});

Deno.test("a duplicate e-mail and required above the approvers are refused", async () => {
  const dup = base.replace("jonas.berg@tracktion.com", "Priya.Raman@tracktion.com");
  const r = await validate(dup);
  assert.equal(r.code, 2);
  assert.match(
    r.text,
    new RegExp(
      `production.yml:${
        lineOf(dup, "Priya.Raman@")
      }:\\d+: deployment.approvals.approvers.1.email: expected each approver once`,
    ),
  );
  const three = base.replace("required: 2", "required: 3");
  const r3 = await validate(three);
  assert.equal(r3.code, 2);
  assert.match(
    r3.text,
    new RegExp(
      `production.yml:${
        lineOf(three, "required: 3")
      }:\\d+: deployment.approvals.required: expected at most the number of approvers listed \\(2\\)`,
    ),
  );
});
