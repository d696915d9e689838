/**
 * `databaseConnection()` (lib/targets/database.ts), the database `deno task migrate` talks
 * to, composed by the database capability's rule: DATABASE_URL first (the environment file
 * not read), then the sandbox's `pglite/` in the state folder it is given, then the
 * environment file's `database:` section with `ssl_mode` passed on as `sslmode` (also
 * `prefer`, the default) and its password scrubbed; a password that is not set here is a
 * MissingSecretError that names the reference, never a value.
 * @module
 */
import assert from "node:assert/strict";
import { loadEnvironment, MissingSecretError } from "../../lib/config/mod.ts";
import { databaseConnection } from "../../lib/targets/mod.ts";

const ENVIRONMENTS = new URL("../../environments/", import.meta.url).pathname;
const notRead = () => Promise.reject(new Error("the environment file was read"));

Deno.test("databaseConnection() takes DATABASE_URL first, then the sandbox's pglite/, without the environment file", async () => {
  const url = "postgres://app:s3cret@db.example:5432/app?sslmode=require";
  const fromUrl = await databaseConnection({
    loadEnvironment: notRead,
    sandboxDir: "/tmp/sandbox",
    readEnv: (name) => name === "DATABASE_URL" ? url : undefined,
  });
  assert.equal(fromUrl.source, "DATABASE_URL");
  assert.equal(fromUrl.target, url);
  assert.deepEqual(fromUrl.secrets, ["s3cret"]);
  assert.ok(!fromUrl.description.includes("s3cret"), fromUrl.description);

  const sandbox = await databaseConnection({
    loadEnvironment: notRead,
    sandboxDir: "/tmp/sandbox",
    readEnv: () => undefined,
  });
  assert.equal(sandbox.source, "sandbox");
  assert.deepEqual(sandbox.target, { pglite: "/tmp/sandbox/pglite" });
  assert.equal(sandbox.description, "embedded PGlite in /tmp/sandbox/pglite");
});

Deno.test("databaseConnection() composes the environment's database with its sslmode, password scrubbed", async () => {
  const development = await loadEnvironment("development", { dir: ENVIRONMENTS });
  const connection = await databaseConnection({
    loadEnvironment: () => Promise.resolve(development),
    readEnv: (name) => name === "TRACKTION_DB_PASSWORD" ? "pa:ss/word" : undefined,
  });
  assert.equal(connection.source, "environment");
  const url = new URL(connection.target as string);
  assert.equal(url.hostname, development.database.host);
  assert.equal(url.port, String(development.database.port));
  assert.equal(url.pathname, `/${development.database.database}`);
  assert.equal(decodeURIComponent(url.password), "pa:ss/word");
  // No ssl_mode in the file: libpq's default, prefer (TLS when the server offers it).
  assert.equal(url.searchParams.get("sslmode"), "prefer");
  assert.deepEqual(connection.secrets, ["pa:ss/word"]);
  assert.match(connection.description, /^postgres:\/\/tracktion:\*\*\*@dev-db\./);
  assert.ok(!connection.description.includes("word"), connection.description);
});

Deno.test("databaseConnection() without the password here: MissingSecretError naming the reference", async () => {
  const development = await loadEnvironment("development", { dir: ENVIRONMENTS });
  const missing = await databaseConnection({
    loadEnvironment: () => Promise.resolve(development),
    readEnv: () => undefined,
  }).catch((error) => error);
  assert.ok(missing instanceof MissingSecretError, String(missing));
  assert.match(missing.message, /database\.password: .*TRACKTION_DB_PASSWORD.* is not set/);
  assert.deepEqual(missing.missing.map((m) => m.path), ["database.password"]);

  // A Kubernetes Secret is not read outside a run: the message says what to set instead.
  const production = await loadEnvironment("production", { dir: ENVIRONMENTS });
  const kubernetes = await databaseConnection({
    loadEnvironment: () => Promise.resolve(production),
    readEnv: () => undefined,
  }).catch((error) => error);
  assert.ok(kubernetes instanceof MissingSecretError, String(kubernetes));
  assert.match(kubernetes.message, /database\.password: .*db-credentials.*set DATABASE_URL/);
});
