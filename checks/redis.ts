/**
 * Redis checks: connectivity (PING latency), memory usage (INFO memory), and a
 * SET/GET round trip. They speak RESP2 over `Deno.connect`, so a stage needs only
 * `uses("redis")` (net to the Redis host, env for its password variable).
 * @module
 */
import type { Check, CheckOutcome, StageContext } from "../lib/dsl/types.ts";
import { parseInfo, RedisClient } from "../lib/redis/resp.ts";
import { round } from "../lib/probes/http.ts";
import { describeError } from "../lib/probes/timeout.ts";
import {
  type CommonCheckOptions,
  fail,
  pass,
  redact,
  resolveSecret,
  type SecretInput,
} from "./_outcome.ts";

/** Where Redis is: the environment file's `redis:` section fits as is. */
export interface RedisTarget {
  /** Host name. */
  readonly host: string;
  /** Port. */
  readonly port: number;
  /** Database index (default 0). */
  readonly database?: number;
  /** Password: a value, `{ from_env }`, or a function; never shown. */
  readonly password?: SecretInput | undefined;
  /** TLS (default false). */
  readonly ssl?: boolean;
  /** With `ssl`: the CA certificate(s) (PEM) to trust instead of the system's. */
  readonly ca?: string | undefined;
}

/** Options for the Redis checks. */
export interface RedisCheckOptions extends CommonCheckOptions {
  /** Deadline per connection and command in milliseconds (default 5 000). */
  readonly timeoutMs?: number;
  /**
   * Where a `secret_key_ref` password is read from (the environment's namespace); the
   * stage must also declare `uses("kubernetes")`.
   */
  readonly secretNamespace?: string;
}

/** Where the password comes from, as a person would name it (never the value). */
function passwordSource(input: SecretInput | undefined): string | undefined {
  if (input === undefined || typeof input !== "object") return undefined;
  if ("from_env" in input) return `environment variable ${input.from_env}`;
  return `secret ${input.secret_key_ref.name}/${input.secret_key_ref.key}`;
}

async function withClient(
  ctx: StageContext,
  target: RedisTarget,
  options: RedisCheckOptions,
  use: (client: RedisClient, evidence: Record<string, unknown>) => Promise<CheckOutcome>,
): Promise<CheckOutcome> {
  const evidence: Record<string, unknown> = {
    host: target.host,
    port: target.port,
    database: target.database ?? 0,
    tls: target.ssl ?? false,
    auth: target.password !== undefined,
    ...(passwordSource(target.password) ? { passwordFrom: passwordSource(target.password) } : {}),
  };
  const secret = await resolveSecret(target.password, {
    ctx,
    namespace: options.secretNamespace,
  });
  if ("error" in secret) return fail(`Redis password unavailable: ${secret.error}`, evidence);
  const timeoutMs = options.timeoutMs ?? 5_000;
  let client: RedisClient | undefined;
  try {
    client = await RedisClient.connect({
      hostname: target.host,
      port: target.port,
      ...(secret.value !== undefined ? { password: secret.value } : {}),
      ...(target.database ? { database: target.database } : {}),
      ...(target.ssl ? { tls: true, ...(target.ca ? { caCerts: [target.ca] } : {}) } : {}),
      timeoutMs,
    });
    return await use(client, evidence);
  } catch (err) {
    const reason = redact(describeError(err, timeoutMs), [secret.value]);
    const hint = /WRONGPASS|invalid password/i.test(reason)
      ? ": the password given is not the one Redis requires (check the secret it is read from)"
      : /NOAUTH/.test(reason)
      ? ": Redis requires a password and none was given (set redis.password)"
      : "";
    return fail(`Redis at ${target.host}:${target.port} failed: ${reason}${hint}`, {
      ...evidence,
      error: reason,
    });
  } finally {
    client?.close();
  }
}

/**
 * Redis answers `PING` with `PONG` (after AUTH and SELECT), within a latency bound.
 *
 * @param target Where Redis is (the environment's `redis:` section).
 * @param options `maxLatencyMs` (default 100), deadline, name, required.
 * @returns The check; evidence: host, port, database, latencyMs.
 *
 * @example
 * ```ts
 * import { redisConnectivity } from "./redis.ts";
 * import assert from "node:assert/strict";
 * const check = redisConnectivity({ host: "127.0.0.1", port: 6379 });
 * assert.equal(check.name, "Redis connectivity");
 * ```
 */
export function redisConnectivity(
  target: RedisTarget,
  options: RedisCheckOptions & { readonly maxLatencyMs?: number } = {},
): Check {
  const maxLatencyMs = options.maxLatencyMs ?? 100;
  return {
    name: options.name ?? "Redis connectivity",
    required: options.required ?? true,
    run: (ctx: StageContext) =>
      withClient(ctx, target, options, async (client, evidence) => {
        const t0 = performance.now();
        const reply = await client.command("PING");
        const latencyMs = round(performance.now() - t0);
        const seen = { ...evidence, reply, latencyMs, maxLatencyMs };
        if (reply !== "PONG") return fail(`Redis answered PING with ${String(reply)}`, seen);
        if (latencyMs > maxLatencyMs) {
          return fail(`Redis PING took ${latencyMs} ms (limit ${maxLatencyMs} ms)`, seen);
        }
        return pass(`Redis answered PING in ${latencyMs} ms`, seen);
      }),
  };
}

/**
 * Redis memory use (`INFO memory`: `used_memory` against `maxmemory`) is below a
 * percentage. With no `maxmemory` set, `maxBytes` is the limit; with neither, the
 * check passes and says there is no limit to compare with.
 *
 * @param target Where Redis is.
 * @param options `maxUsedPercent` (default 80), `maxBytes`, deadline, name, required.
 * @returns The check; evidence: usedMemory, maxMemory, usedPercent, usedMemoryHuman.
 *
 * @example
 * ```ts
 * import { redisMemory } from "./redis.ts";
 * import assert from "node:assert/strict";
 * assert.equal(redisMemory({ host: "127.0.0.1", port: 6379 }).name, "Redis memory usage");
 * ```
 */
export function redisMemory(
  target: RedisTarget,
  options: RedisCheckOptions & { readonly maxUsedPercent?: number; readonly maxBytes?: number } =
    {},
): Check {
  const maxUsedPercent = options.maxUsedPercent ?? 80;
  return {
    name: options.name ?? "Redis memory usage",
    required: options.required ?? true,
    run: (ctx) =>
      withClient(ctx, target, options, async (client, evidence) => {
        const reply = await client.command("INFO", "memory");
        if (typeof reply !== "string") return fail("Redis INFO memory returned no text", evidence);
        const info = parseInfo(reply);
        const used = Number(info.used_memory);
        const maxmemory = Number(info.maxmemory ?? "0");
        if (!Number.isFinite(used)) return fail("Redis INFO memory has no used_memory", evidence);
        const limit = maxmemory > 0 ? maxmemory : options.maxBytes;
        const seen: Record<string, unknown> = {
          ...evidence,
          usedMemory: used,
          usedMemoryHuman: info.used_memory_human,
          maxMemory: maxmemory,
          maxUsedPercent,
        };
        if (!limit) return pass(`Redis uses ${info.used_memory_human} (no memory limit set)`, seen);
        const usedPercent = Math.round((used / limit) * 1000) / 10;
        seen.limitBytes = limit;
        seen.usedPercent = usedPercent;
        if (usedPercent >= maxUsedPercent) {
          return fail(
            `Redis memory at ${usedPercent}% of ${limit} bytes (limit ${maxUsedPercent}%)`,
            seen,
          );
        }
        return pass(`Redis memory at ${usedPercent}% of its limit`, seen);
      }),
  };
}

/**
 * A `SET`/`GET`/`DEL` round trip on a throwaway key completes within a bound (the
 * seed's post-deployment "Redis performance": under 100 ms).
 *
 * @param target Where Redis is.
 * @param options `maxLatencyMs` (default 100), deadline, name, required.
 * @returns The check; evidence: latencyMs, key.
 *
 * @example
 * ```ts
 * import { redisPerformance } from "./redis.ts";
 * import assert from "node:assert/strict";
 * assert.equal(redisPerformance({ host: "127.0.0.1", port: 6379 }).name, "Redis performance");
 * ```
 */
export function redisPerformance(
  target: RedisTarget,
  options: RedisCheckOptions & { readonly maxLatencyMs?: number } = {},
): Check {
  const maxLatencyMs = options.maxLatencyMs ?? 100;
  return {
    name: options.name ?? "Redis performance",
    required: options.required ?? true,
    run: (ctx) =>
      withClient(ctx, target, options, async (client, evidence) => {
        const key = `tracktion:check:${crypto.randomUUID()}`;
        const value = crypto.randomUUID();
        const t0 = performance.now();
        await client.command("SET", key, value, "PX", 60_000);
        const read = await client.command("GET", key);
        const latencyMs = round(performance.now() - t0);
        await client.command("DEL", key);
        const seen = { ...evidence, key, latencyMs, maxLatencyMs };
        if (read !== value) return fail("Redis GET did not return the value just SET", seen);
        if (latencyMs > maxLatencyMs) {
          return fail(`Redis SET/GET took ${latencyMs} ms (limit ${maxLatencyMs} ms)`, seen);
        }
        return pass(`Redis SET/GET in ${latencyMs} ms`, seen);
      }),
  };
}
