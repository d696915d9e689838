// The github capability's deliveries, over real HTTP, against a FAKE GitHub: the STAND-IN of
// tests/release (GitHub's recorded and OpenAPI-checked answers), behind a front that injects
// faults into chosen requests — a 503, a secondary rate limit (403 + Retry-After), a 422, or
// a status POST that is never answered. A status that still fails comes back naming what it
// was and its attempts (never thrown, never dropped); one that recovers arrives.
import assert from "node:assert/strict";
import { fakeGitHub } from "./_fake_github.ts";
import { githubCapability } from "../../lib/capabilities/github.ts";
import { scaledClock } from "../../lib/clock/mod.ts";

const TOKEN = "ghp_retryStandInToken00001";

function capability(url: string, timeoutMs = 2_000) {
  const logged: string[] = [];
  const api = githubCapability({
    repository: "tracktion/tracktion",
    token: TOKEN,
    log: (l) => logged.push(l),
    apiUrl: url,
    // A fast rehearsal's clock: a 1 s backoff is 1 ms here; deadlines stay real.
    clock: scaledClock(1_000),
    retry: { timeoutMs },
  });
  return { api, logged };
}

Deno.test("github: flaky statuses (503, a secondary rate limit) are retried and both arrive", async () => {
  const gh = await fakeGitHub(TOKEN);
  gh.faults.status.push("503", "secondary-limit");
  gh.faults.deployment.push("503");
  try {
    const { api } = capability(gh.url);
    const start = await api.start("v1.1.0", "staging");
    assert.deepEqual(start, { ok: true });
    gh.faults.status.push("503");
    const done = await api.status("success", "v1.1.0 deployed to staging");
    assert.deepEqual(done, { ok: true });
    assert.deepEqual(gh.states(), [["in_progress", "success"]], "both statuses arrived, once");
    assert.deepEqual(gh.hits, { deployment: 2, status: 5 });
    assert.deepEqual(gh.standIn.violations, []);
  } finally {
    await gh.close();
  }
});

Deno.test("github: a status POST that is never answered is retried, then reported undelivered", async () => {
  const gh = await fakeGitHub(TOKEN);
  const timeoutMs = 300;
  gh.faults.status.push("hang", "hang", "hang", "hang", "hang", "hang", "hang", "hang");
  try {
    const { api, logged } = capability(gh.url, timeoutMs);
    const t0 = performance.now();
    const start = await api.start("v1.1.0", "staging");
    assert.equal(start.ok, false);
    assert.equal(start.what, "deployment status: in_progress");
    assert.equal(start.attempts, 4);
    assert.match(
      start.error!,
      new RegExp(`timed out after ${timeoutMs} ms \\(4 attempt\\(s\\)\\)`),
    );
    assert.ok(performance.now() - t0 >= 4 * timeoutMs, "each attempt waited its deadline");
    const done = await api.status("failure", "v1.1.0 to staging failed");
    assert.equal(done.ok, false);
    assert.equal(done.what, "deployment status: failure");
    assert.equal(done.attempts, 4);
    assert.equal(gh.hits.status, 8, "4 attempts each");
    assert.deepEqual(gh.states(), [[]], "GitHub holds no status: the results say so");
    const all = JSON.stringify({ start, done, logged });
    assert.ok(!all.includes(TOKEN), "the token leaked");
  } finally {
    await gh.close();
  }
});

Deno.test("github: a 422 (the caller's fault) is not retried", async () => {
  const gh = await fakeGitHub(TOKEN);
  try {
    const { api } = capability(gh.url);
    assert.equal((await api.start("v1.1.0", "staging")).ok, true);
    gh.faults.status.push("422");
    const r = await api.status("success", "done");
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 1);
    assert.match(r.error!, /GitHub answered 422/);
    assert.equal(gh.hits.status, 2);
  } finally {
    await gh.close();
  }
});

Deno.test("github: when the start did not get through, the final status creates the deployment first", async () => {
  const gh = await fakeGitHub(TOKEN);
  gh.faults.deployment.push("503", "503", "503", "503");
  try {
    const { api } = capability(gh.url);
    const start = await api.start("v1.1.0", "staging");
    assert.equal(start.ok, false);
    assert.equal(start.what, "deployment: v1.1.0 to staging");
    assert.equal(start.attempts, 4);
    assert.match(start.error!, /GitHub answered 503/);
    // GitHub is back by the end of the run.
    const done = await api.status("success", "v1.1.0 deployed to staging");
    assert.deepEqual(done, { ok: true });
    assert.deepEqual(gh.states(), [["in_progress", "success"]]);
    assert.deepEqual(gh.hits, { deployment: 5, status: 2 }, "4 refused, then 1 at the end");
  } finally {
    await gh.close();
  }
});

Deno.test("github: the final status waits for a start still retrying (never overtakes it)", async () => {
  const gh = await fakeGitHub(TOKEN);
  gh.faults.status.push("503", "503");
  try {
    const { api } = capability(gh.url);
    const [start, done] = await Promise.all([
      api.start("v1.1.0", "staging"),
      api.status("success", "v1.1.0 deployed to staging"),
    ]);
    assert.equal(start.ok, true);
    assert.equal(done.ok, true);
    assert.deepEqual(gh.states(), [["in_progress", "success"]], "in order");
  } finally {
    await gh.close();
  }
});
