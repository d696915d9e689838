// The environment fields the runbook's checks need: the public API (`environment.api_url`), the
// external API's health endpoint, the backups, and production's promotion source. Bad values
// are refused naming file, line and field; the real files carry the runbook's values.
import assert from "node:assert/strict";
import { ConfigError, loadEnvironment, parseEnvironment } from "../../lib/config/mod.ts";
import { ENVIRONMENTS, FIXTURES } from "./_helpers.ts";

const valid = await Deno.readTextFile(`${FIXTURES}/valid.yml`);

/** The valid fixture with `after` replaced by `after` + `insert` (one line). */
function edited(after: string, insert: string): { text: string; line: number } {
  const lines = valid.split("\n");
  const at = lines.findIndex((l) => l === after);
  assert.ok(at >= 0, `the fixture has a line "${after}"`);
  lines.splice(at + 1, 0, insert);
  return { text: lines.join("\n"), line: at + 2 };
}

function problems(text: string): string[] {
  try {
    parseEnvironment(text, { name: "valid", file: "valid.yml" });
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message.split("\n");
  }
  return assert.fail("the file loaded without error");
}

Deno.test("runbook fields: api_url, health_url, backup and promote_from are read", () => {
  const c = edited(
    "deployment:",
    "  promote_from: { environment: staging, namespace: shop-staging }",
  );
  const text =
    `${c.text.trimEnd()}\nbackup: { cronjob: db-backup, verification_cronjob: db-verify, max_age: 6h }\n`
      .replace(
        "environment:\n",
        "environment:\n  api_url: https://api.shop.example\n  dns_server: 10.1.0.2:5353\n",
      )
      .replace(
        "external_services:\n",
        "external_services:\n  health_url: https://partner.example/health\n",
      );
  const env = parseEnvironment(text, { name: "valid", file: "valid.yml" });
  assert.equal(env.environment.api_url, "https://api.shop.example");
  assert.equal(env.environment.dns_server, "10.1.0.2:5353");
  assert.equal(env.external_services.health_url, "https://partner.example/health");
  assert.deepEqual(env.deployment.promote_from, {
    environment: "staging",
    namespace: "shop-staging",
  });
  assert.equal(env.backup?.cronjob, "db-backup");
  assert.equal(env.backup?.verification_cronjob, "db-verify");
  assert.equal(env.backup?.max_age.ms, 6 * 3_600_000);
  // All optional: the fixture without them loads.
  const plain = parseEnvironment(valid, { name: "valid", file: "valid.yml" });
  assert.equal(plain.environment.api_url, undefined);
  assert.equal(plain.backup, undefined);
  assert.equal(plain.deployment.promote_from, undefined);
});

Deno.test("runbook fields: bad values are refused with file, line and field", () => {
  const cases: [string, string, RegExp][] = [
    [
      "environment:",
      "  api_url: ftp://api.shop.example",
      /environment\.api_url: expected an http\(s\) URL/,
    ],
    [
      "environment:",
      "  dns_server: dns.example",
      /environment\.dns_server: expected an IPv4 address/,
    ],
    [
      "environment:",
      "  dns_server: 10.0.0.256",
      /environment\.dns_server: expected an IPv4 address/,
    ],
    [
      "environment:",
      "  api_url: https://user:pw@api.shop.example",
      /environment\.api_url: expected a URL without credentials/,
    ],
    [
      "external_services:",
      "  health_url: not a url",
      /external_services\.health_url: expected an http\(s\) URL/,
    ],
    [
      "deployment:",
      "  promote_from: { environment: Staging!, namespace: shop-staging }",
      /deployment\.promote_from\.environment: expected an environment name/,
    ],
    [
      "deployment:",
      "  promote_from: { environment: staging }",
      /deployment\.promote_from\.namespace: /,
    ],
    [
      "deployment:",
      "  promote_from: { environment: staging, namespace: shop-staging, from: x }",
      /deployment\.promote_from\.from: unknown key/,
    ],
  ];
  for (const [after, insert, expected] of cases) {
    const { text, line } = edited(after, insert);
    const found = problems(text);
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(found[0]!, expected);
    assert.match(found[0]!, new RegExp(`^valid\\.yml:${line}:`), `the line of ${insert}`);
  }
  const backupLine = valid.trimEnd().split("\n").length + 1;
  for (
    const [section, expected] of [
      ["backup: { cronjob: db-backup, max_age: soon }", /backup\.max_age: expected a duration/],
      ["backup: { cronjob: Db_Backup, max_age: 1d }", /backup\.cronjob: /],
      ["backup: { max_age: 1d }", /backup\.cronjob: /],
    ] as const
  ) {
    const found = problems(`${valid.trimEnd()}\n${section}\n`);
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(found[0]!, expected);
    assert.match(found[0]!, new RegExp(`^valid\\.yml:${backupLine}:`));
  }
});

Deno.test("runbook fields: the real files carry the runbook's endpoints, backups and staging gate", async () => {
  const [dev, staging, prod] = await Promise.all(
    ["development", "staging", "production"].map((n) => loadEnvironment(n, { dir: ENVIRONMENTS })),
  );
  assert.equal(prod!.environment.api_url, "https://api.tracktion.com");
  assert.equal(staging!.environment.api_url, "https://api-staging.tracktion.com");
  assert.equal(dev!.environment.api_url, "https://api-development.tracktion.com");
  for (const env of [dev!, staging!, prod!]) {
    assert.equal(env.external_services.health_url, "https://api.external-service.com/health");
    assert.equal(env.backup?.max_age.ms, 24 * 3_600_000, `${env.name}: a backup of the last day`);
    assert.equal(env.backup?.cronjob, "database-backup");
    assert.equal(env.environment.dns_server, "10.0.0.2");
  }
  assert.deepEqual(prod!.deployment.promote_from, {
    environment: "staging",
    namespace: staging!.environment.namespace,
  });
  assert.equal(staging!.deployment.promote_from, undefined);
});
