// Secret redaction: the runner calls Redactor.redact() on every log line and event, and
// Redactor.redactValue() on every check's evidence and on the report. 20 secrets of the
// kinds a deploy sees (passwords with quotes, backslashes and spaces, tokens, a PEM-ish
// multi-line value, unicode), each registered with all its forms.
//
//   deno bench -A --frozen bench/redact_bench.ts
import { Redactor } from "../lib/journal/redact.ts";

const SECRETS = [
  "s3cr3t-Pa55/word+x",
  'db"pa\\ss word',
  "ghp_0123456789abcdefghijABCDEFGHIJ012345",
  "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx",
  "AKIAIOSFODNN7EXAMPLE",
  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  "pässwörd-密码",
  "line1\nline2\tend",
  "redis-pw-42",
  "grafana:admin:0ps!",
  "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0cmFja3Rpb24ifQ.c2lnbmF0dXJl",
  "-----BEGIN KEY-----\nMIIBVgIBADANBgkqhkiG9w0BAQEFAASCAUAwggE8AgEAAkEA\n-----END KEY-----",
  "smtp&pass=word?",
  "registry-token-9f8e7d6c",
  "sk_live_51HqLyjWDarjtT1zdp7dc",
  "hook-secret-%41%42",
  "postgres-replica-pw",
  "tracktion-api-key-0001",
  "np_AbCdEfGh12345678",
  "last secret (20)",
];

const redactor = new Redactor();
for (const s of SECRETS) redactor.add(s);

function padTo(text: string, bytes: number): string {
  return (text + " ".repeat(bytes)).slice(0, bytes);
}

// 200-byte log lines: the usual one has no secret; a careless one has one.
const CLEAN_LINE = padTo(
  "2024-05-02T10:15:03.123Z INFO analysis-service canary 5%: p99 latency 182 ms, error rate " +
    "0.02%, 1204 requests in the last minute, slot blue healthy, promoting in 4m 10s (gate 3/5)",
  200,
);
const LEAKY_LINE = padTo(
  `2024-05-02T10:15:03.123Z INFO connecting to postgres://tracktion:${SECRETS[0]}@db:5432/` +
    "tracktion?sslmode=require (attempt 2 of 5, timeout 10 s, pool size 4, application tracktion)",
  200,
);

// A report-like object of ~16 KiB: stages with checks, evidence and logs, a few leaks.
function reportLike(): unknown {
  const stages = [];
  for (let i = 0; i < 14; i++) {
    stages.push({
      id: `stage-${i}`,
      status: i === 7 ? "failed" : "succeeded",
      startedAt: "2024-05-02T10:15:03.123Z",
      durationMs: 1000 + i * 37,
      attempts: 1,
      ...(i === 7 ? { reason: `auth failed for password ${SECRETS[1]}` } : {}),
      checks: Array.from({ length: 4 }, (_, c) => ({
        name: `check-${i}-${c}`,
        ok: c !== 3,
        required: c < 2,
        message: `service-${c} answered 200 in ${10 + c} ms`,
        evidence: {
          url: `http://service-${c}.tracktion.svc:8080/health`,
          status: 200,
          headers: { "content-type": "application/json", server: "tracktion" },
          ...(c === 2 && i % 4 === 0 ? { token: SECRETS[2] } : {}),
        },
      })),
      output: { slot: i % 2 ? "blue" : "green", replicas: 5, images: [`tracktion/s${i}:1.2.4`] },
      log: `stages/stage-${i}.log`,
    });
  }
  return {
    schemaVersion: 1,
    runId: "2024-05-02T10-15-03Z-7f3a",
    pipeline: { name: "production", file: "pipelines/production.ts" },
    environment: "production",
    status: "failed",
    stages,
    events: { file: "events.jsonl", count: 412, digest: "ab".repeat(32) },
  };
}
const REPORT = reportLike();
const REPORT_JSON = JSON.stringify(REPORT);
if (REPORT_JSON.length < 15_000 || REPORT_JSON.length > 18_000) {
  throw new Error(`the report-like object is ${REPORT_JSON.length} bytes, not ~16 KiB`);
}
if (redactor.redact(CLEAN_LINE) !== CLEAN_LINE || redactor.redact(LEAKY_LINE) === LEAKY_LINE) {
  throw new Error("the bench's lines do not exercise redaction as intended");
}

Deno.bench("redact() a 200-byte log line without a secret (20 secrets)", { group: "line" }, () => {
  redactor.redact(CLEAN_LINE);
});

Deno.bench("redact() a 200-byte log line with a secret (20 secrets)", { group: "line" }, () => {
  redactor.redact(LEAKY_LINE);
});

Deno.bench("redactValue() a ~16 KiB report-like object (20 secrets)", { group: "value" }, () => {
  redactor.redactValue(REPORT);
});

Deno.bench(
  "redact() the same report as ~16 KiB of JSON text (20 secrets)",
  { group: "value" },
  () => {
    redactor.redact(REPORT_JSON);
  },
);

Deno.bench("add() a 21st secret, then the first redact() (rebuilds the pattern)", (b) => {
  const r = new Redactor();
  for (const s of SECRETS) r.add(s);
  r.redact(CLEAN_LINE);
  b.start();
  r.add("one more secret");
  r.redact(CLEAN_LINE);
  b.end();
});

/** The median time of one call of `fn`, in µs: 41 batches of `n` calls after a warm-up. */
function medianMicros(fn: () => unknown, n: number): number {
  for (let i = 0; i < n * 5; i++) fn();
  const batches: number[] = [];
  for (let b = 0; b < 41; b++) {
    const t = performance.now();
    for (let i = 0; i < n; i++) fn();
    batches.push(((performance.now() - t) * 1000) / n);
  }
  return batches.sort((a, b) => a - b)[20]!;
}

// `deno run bench/redact_bench.ts`: medians (deno bench prints avg and p75, not a median).
if (import.meta.main) {
  const rows: [string, number][] = [
    [
      "redact() 200-byte log line, no secret",
      medianMicros(() => redactor.redact(CLEAN_LINE), 2000),
    ],
    [
      "redact() 200-byte log line, one secret",
      medianMicros(() => redactor.redact(LEAKY_LINE), 2000),
    ],
    [
      "redactValue() ~16 KiB report-like object",
      medianMicros(() => redactor.redactValue(REPORT), 50),
    ],
    [
      "redact() the report as ~16 KiB JSON text",
      medianMicros(() => redactor.redact(REPORT_JSON), 50),
    ],
  ];
  console.log(`20 secrets, ${redactor.size} forms; report ${REPORT_JSON.length} bytes as JSON`);
  for (const [what, us] of rows) console.log(`${what.padEnd(44)} ${us.toFixed(2)} µs`);
}
