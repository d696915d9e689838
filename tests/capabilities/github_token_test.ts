// The github capability reads its token like every capability reads a secret, through the
// opening context: a `secret_key_ref` token comes from the environment's namespace in the
// cluster (here the sandbox, seeded with the Secret) and is registered for redaction; a
// Secret that is not there leaves GitHub "not configured" (a deploy is never failed).
import assert from "node:assert/strict";
import { loadEnvironment } from "../../lib/config/mod.ts";
import type { Environment } from "../../lib/config/types.ts";
import { CAPABILITIES, openCapabilities } from "../../lib/capabilities/mod.ts";
import { startSandbox } from "../../lib/sandbox/mod.ts";
import { GitHubStandIn } from "../release/_github_standin.ts";
import { ENVIRONMENTS } from "../config/_helpers.ts";

const TOKEN = "ghp_sandboxSecretToken0001";

type Start = (version: string, environment: string) => Promise<{ ok: boolean; error?: string }>;

/** The development environment with `github.token` read from Secret `<name>`, key `token`. */
async function withSecretToken(name: string): Promise<Environment> {
  const env = await loadEnvironment("development", { dir: ENVIRONMENTS });
  return { ...env, github: { ...env.github, token: { secret_key_ref: { name, key: "token" } } } };
}

Deno.test({
  name: "a secret_key_ref token is read from the sandbox's Secret; a missing one is not configured",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const env = await withSecretToken("github-deploy");
    const stateDir = await Deno.makeTempDir({ prefix: "github-token-sandbox-" });
    const sandbox = await startSandbox({
      stateDir,
      port: 0,
      reset: true,
      trafficRate: 0,
      seed: {
        namespaces: [{
          name: env.environment.namespace,
          secrets: [{ name: "github-deploy", data: { token: TOKEN } }],
        }],
      },
    });
    const github = await GitHubStandIn.create({ token: TOKEN });
    const server = github.serve();
    const open = (e: Environment, secrets: string[], log: string[]) =>
      openCapabilities({
        env: e,
        capabilities: CAPABILITIES,
        target: { kind: "sandbox", kubeconfigPath: sandbox.kubeconfigPath, stateDir },
        dryRun: false,
        readEnv: (name) =>
          name === "GITHUB_API_URL" ? `http://127.0.0.1:${server.addr.port}` : undefined,
        onSecret: (value) => secrets.push(value),
        log: (line) => log.push(line),
      });
    try {
      const secrets: string[] = [];
      const log: string[] = [];
      const caps = open(env, secrets, log);
      const start = caps.providers.github!.start as unknown as Start;
      const started = await start("v1.0.0", "development");
      assert.deepEqual(started, { ok: true }, log.join("\n"));
      // GitHub accepted the token (the stand-in answers 401 to any other).
      assert.deepEqual(github.calls.slice(0, 1), ["repos/create-deployment"]);
      assert.deepEqual(github.violations, []);
      assert.ok(secrets.includes(TOKEN), "the token is registered for redaction");
      assert.ok(log.every((line) => !line.includes(TOKEN)), log.join("\n"));
      await caps.close();

      // A Secret the namespace does not hold: GitHub is not configured here, said as such.
      const missing: string[] = [];
      const other = open(await withSecretToken("no-such-secret"), missing, []);
      const skipped = await (other.providers.github!.start as unknown as Start)("v1", "dev");
      assert.equal(skipped.ok, false);
      assert.match(skipped.error!, /GitHub is not configured here \(no token\)/);
      assert.deepEqual(missing, []);
      await other.close();
    } finally {
      await server.shutdown();
      await sandbox.stop();
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});
