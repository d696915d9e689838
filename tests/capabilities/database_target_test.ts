// The database capability's URL carries `ssl_mode` as the `postgres` driver understands
// it: libpq's names pass through, but `allow` (which that driver would take as TLS or
// fail) becomes `prefer` — so `ssl_mode: allow` connects to a server without TLS, as
// libpq would. A real PostgreSQL (no TLS) shows it.
import assert from "node:assert/strict";
import { loadEnvironment } from "../../lib/config/mod.ts";
import type { Environment } from "../../lib/config/types.ts";
import { CAPABILITIES, openCapabilities, type OpenContext } from "../../lib/capabilities/mod.ts";
import { databaseTarget } from "../../lib/capabilities/database.ts";
import { startPostgres } from "../_support/postgres.ts";
import { ENVIRONMENTS } from "../config/_helpers.ts";

const PASSWORD_VAR = "TEST_DB_PASSWORD";

function contextFor(password: string): OpenContext {
  return {
    target: { kind: "kubernetes" },
    dryRun: true,
    readEnv: () => undefined,
    secret: () => Promise.resolve(password),
    onSecret: () => {},
    log: () => {},
  };
}

async function withSslMode(
  mode: Environment["database"]["ssl_mode"],
  database: Partial<Environment["database"]> = {},
): Promise<Environment> {
  const env = await loadEnvironment("development", { dir: ENVIRONMENTS });
  return { ...env, database: { ...env.database, ...database, ssl_mode: mode } };
}

Deno.test("databaseTarget(): ssl_mode allow is sslmode=prefer; the others pass through", async () => {
  const expected = {
    disable: "disable",
    allow: "prefer",
    prefer: "prefer",
    require: "require",
    "verify-ca": "verify-ca",
    "verify-full": "verify-full",
  } as const;
  for (const [mode, sslmode] of Object.entries(expected)) {
    const env = await withSslMode(mode as keyof typeof expected);
    const url = new URL(await databaseTarget(env, contextFor("a-long-enough-password")) as string);
    assert.equal(url.searchParams.get("sslmode"), sslmode, mode);
    assert.equal(url.hostname, env.database.host);
  }
});

Deno.test("ssl_mode allow connects to a PostgreSQL without TLS", async () => {
  const server = await startPostgres();
  try {
    const env = await withSslMode("allow", {
      host: "127.0.0.1",
      port: server.port,
      user: "postgres",
      database: "postgres",
      password: { from_env: PASSWORD_VAR },
    });
    const opened = openCapabilities({
      env,
      capabilities: CAPABILITIES,
      target: { kind: "kubernetes" },
      dryRun: true,
      readEnv: (name) => name === PASSWORD_VAR ? server.password : undefined,
      onSecret: () => {},
      log: () => {},
    });
    try {
      const ping = opened.providers.database!.ping as () => Promise<{ serverVersion: string }>;
      assert.match((await ping()).serverVersion, /^PostgreSQL /);
    } finally {
      await opened.close();
    }
  } finally {
    await server.stop();
  }
});
