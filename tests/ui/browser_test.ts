// The dashboard in a real browser (Debian's headless Chromium through playwright-core), over
// a real rehearsal: the real CLI's `ui` serving the runs folder of real CLI deploys on a
// sandbox of the test's own. The list shows a production deploy started while the page is
// open (it appears and turns paused without a reload); the run's live page draws its stages,
// gate charts and traffic split from the event stream, and keeps updating after it loaded
// (the decision and the rollback arrive as events); abort there rolls the canary back, the
// report saying who decided (the dashboard's --user, as `decide` records it); the finished
// run opens as its HTML report; a browser without the token gets 401 for the pages, the
// stream and the decision. Screenshots under tests/ui/artefacts/ (git-ignored; paths printed).
//
// Every wait is bounded by the deploy it waits on (a run that ends first ends the wait and
// fails), not by a guessed time. The functions handed to `page.evaluate` run in the page; this
// file is checked without the DOM's types, so they reach the page's globals untyped.
// deno-lint-ignore-file no-explicit-any
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { launch } from "../render/_browser.ts";
import { Rehearsal, VIRTUAL_LEASE } from "../deploy/_deploy.ts";

const ARTEFACTS = new URL("./artefacts/", import.meta.url).pathname;
const CONFIRM = ["--confirm", "DEPLOY TO PRODUCTION", ...VIRTUAL_LEASE];

async function screenshot(page: Page, name: string): Promise<string> {
  await Deno.mkdir(ARTEFACTS, { recursive: true });
  const path = `${ARTEFACTS}${name}`;
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot: ${path}`);
  return path;
}

/** The real CLI's dashboard over the rehearsal's runs folder; its address from its first line. */
async function dashboard(runsDir: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "lib/cli/main.ts",
      "ui",
      "--runs-dir",
      runsDir,
      "--user",
      "release-manager",
    ],
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  reader.releaseLock();
  const m = /^dashboard: ((http:\/\/127\.0\.0\.1:\d+)\/\?token=(\S+))$/m.exec(out);
  assert.ok(m, `the dashboard did not start: ${out}`);
  return {
    url: m[1]!,
    origin: m[2]!,
    async stop() {
      child.kill("SIGINT");
      const { code } = await child.status;
      await child.stdout.cancel().catch(() => {});
      await child.stderr.cancel().catch(() => {});
      return code;
    },
  };
}

/** The paused production deploy, started in the background; its output kept as it comes. */
function pausedDeploy(r: Rehearsal, version: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: r.args("deploy", "production", version, [
      ...CONFIRM,
      "--scenario",
      "canary-errors",
      "--option",
      "on-breach=pause",
    ]),
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const run = { out: "", exited: false, code: -1 };
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) run.out += chunk;
  })();
  const status = child.status.then(async (s) => {
    await reading;
    Object.assign(run, { exited: true, code: s.code });
    return s.code;
  });
  return { child, run, status };
}

Deno.test({
  name:
    "deno task ui in Chromium: a rehearsal listed live, its page updating over SSE, abort rolls it back, no token 401",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const r = await Rehearsal.create();
    const browser = await launch();
    let ui: Awaited<ReturnType<typeof dashboard>> | undefined;
    let deploy: ReturnType<typeof pausedDeploy> | undefined;
    try {
      // Production's first release, then the next through staging (production deploys what
      // succeeded there): the runs already in the folder when the dashboard opens.
      const first = await r.deploy("production", "v1.2.3", CONFIRM);
      assert.equal(first.code, 0, first.stdout + first.stderr);
      const staging = await r.deploy("staging", "v1.2.4", [...VIRTUAL_LEASE]);
      assert.equal(staging.code, 0, staging.stdout + staging.stderr);

      ui = await dashboard(`${r.dir}/runs`);
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      page.setDefaultTimeout(0); // every wait below is bounded by the deploy it waits on
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") {
          problems.push(`${m.type()}: ${m.text()}`);
        }
      });
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("dialog", (d) => d.accept());

      // The token once in the address: the page lands on / with it as a cookie, not in the URL.
      const landed = await page.goto(ui.url);
      assert.equal(landed?.status(), 200);
      assert.equal(page.url(), `${ui.origin}/`);
      const cookies = await context.cookies();
      assert.equal(cookies.length, 1);
      assert.equal(cookies[0]!.httpOnly, true);
      assert.equal(cookies[0]!.sameSite, "Strict");
      // The runs so far (production's first deploy ran its version through staging first).
      const before = await page.locator("#runs-body tr").count();
      assert.ok(before >= 2, `${before} runs listed`);

      // The deploy starts while the list is open: its row appears, then turns paused.
      deploy = pausedDeploy(r, "v1.2.4");
      const d = deploy;
      const whileRunning = async <T>(what: string, wait: Promise<T>): Promise<T> => {
        const ended = d.status.then((code) => {
          throw new Error(`the deploy ended (exit ${code}) before ${what}:\n${d.run.out}`);
        });
        ended.catch(() => {});
        return await Promise.race([wait, ended]);
      };
      await whileRunning(
        "its run was listed",
        page.waitForFunction(
          (n) => (globalThis as any).document.querySelectorAll("#runs-body tr").length === n,
          before + 1,
        ),
      );
      const runId = /^run (\S+)$/m.exec(d.run.out)?.[1] ??
        await page.locator("#runs-body tr").first().getAttribute("data-run");
      assert.ok(runId);
      assert.equal(
        await page.locator("#runs-body tr").first().getAttribute("data-run"),
        runId,
        "newest first",
      );
      assert.notEqual(
        await page.locator("html").getAttribute("data-refreshed"),
        null,
        "listed by the refresh",
      );

      // Its live page, opened while it runs.
      const live = await context.newPage();
      live.setDefaultTimeout(0);
      live.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") {
          problems.push(`live ${m.type()}: ${m.text()}`);
        }
      });
      live.on("pageerror", (e) => problems.push(`live page error: ${e.message}`));
      live.on("dialog", (dialog) => dialog.accept());
      await live.goto(`${ui.origin}/runs/${runId}`);
      await whileRunning(
        "its page showed it paused",
        live.waitForSelector("#decision:not([hidden])"),
      );
      assert.equal(await live.locator("html").getAttribute("data-state"), "paused");
      assert.equal(await live.locator("#waiting").textContent(), "canary-5");
      // Its stages, gate charts and traffic split, from the stream.
      assert.ok(Number(await live.locator("html").getAttribute("data-sse-events")) > 20);
      assert.ok(await live.locator("canvas.gate-chart").count() >= 2, "a chart per gate");
      assert.equal(
        await live.locator('#stages-body tr[data-stage="canary-5"] .status').textContent(),
        "paused",
      );
      assert.equal(await live.locator("#traffic-body tr").count(), 4, "a split per service");
      assert.match(
        await live.locator("#traffic-body tr").first().textContent() ?? "",
        /blue 95% \/ green 5%/,
      );
      const painted = await live.evaluate(() =>
        [...(globalThis as any).document.querySelectorAll("canvas")].map((c: any) => {
          const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) n++;
          return n;
        })
      );
      assert.ok(painted.every((n: number) => n > 0), `every chart drawn: ${painted}`);
      const livePath = await screenshot(live, "live.png");

      await page.waitForSelector(`#runs-body tr[data-run="${runId}"][data-status="paused"]`);
      const listPath = await screenshot(page, "list.png");

      // Abort, in the page: the decision goes, the run rolls back, and the page follows.
      const seqAtClick = Number(await live.locator("html").getAttribute("data-last-seq"));
      await live.click("#abort");
      await whileRunning(
        "the decision was recorded",
        live.waitForSelector('html[data-decision="abort"]'),
      );
      assert.match(
        await live.locator("#decision-result").textContent() ?? "",
        /abort recorded for stage "canary-5" .* \(by release-manager\)/,
      );
      const code = await d.status;
      assert.equal(code, 1, d.run.out);
      // After the runner exits its report is there; the stream sees it at its next wake-up
      // (the watcher, or its 1 s poll), or after the browser's reconnect delay (3 s).
      await Promise.race([
        live.waitForSelector("#finished:not([hidden])"),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error("the page never showed the run finished")), 30_000)
        ),
      ]);
      assert.equal(await live.locator("#finished-status").textContent(), "rolled_back");
      const lastSeq = Number(await live.locator("html").getAttribute("data-last-seq"));
      assert.ok(
        lastSeq > seqAtClick,
        `events after the click reached the page (${seqAtClick} → ${lastSeq})`,
      );
      assert.match(await live.locator("#events").textContent() ?? "", /stage\.decision canary-5/);
      assert.equal(
        await live.locator('#stages-body tr[data-stage="rollback"] .status').textContent(),
        "succeeded",
      );
      assert.equal(
        await live.locator('#stages-body tr[data-stage="canary-5"] .status').textContent(),
        "failed",
      );
      await screenshot(live, "live-finished.png");

      const report = JSON.parse(await Deno.readTextFile(`${r.dir}/runs/${runId}/report.json`));
      assert.equal(report.status, "rolled_back");
      const canary = report.stages.find((s: { id: string }) => s.id === "canary-5");
      assert.equal(canary.status, "failed");
      assert.deepEqual(
        [canary.decision.action, canary.decision.by, canary.decision.method],
        ["abort", "release-manager", "command"],
      );

      // The finished run opens as its HTML report.
      await live.click("#report-link");
      await live.waitForLoadState("load");
      assert.match(await live.title(), /rolled_back/);
      assert.ok(Number(await live.locator("html").getAttribute("data-charts")) >= 2);
      assert.equal(await live.locator("html").getAttribute("data-render-error"), null);
      const reportPath = await screenshot(live, "report.png");

      // The form narrows the list: production runs that rolled back.
      await page.selectOption('select[name="environment"]', "production");
      await page.selectOption('select[name="status"]', "rolled_back");
      await Promise.all([page.waitForURL(/status=rolled_back/), page.click("form.filters button")]);
      assert.deepEqual(
        await page.locator("#runs-body tr").evaluateAll((rows) =>
          rows.map((x: any) => x.getAttribute("data-run"))
        ),
        [runId],
      );
      assert.deepEqual(problems, []);

      // Without the token: 401 for the pages, the stream and the decision.
      const stranger = await browser.newContext();
      const refused = await stranger.newPage();
      for (const path of ["/", `/runs/${runId}`]) {
        assert.equal((await refused.goto(`${ui.origin}${path}`))?.status(), 401, path);
      }
      const stream = await stranger.request.get(`${ui.origin}/runs/${runId}/events`);
      assert.equal(stream.status(), 401);
      const post = await stranger.request.post(`${ui.origin}/runs/${runId}/decision`, {
        headers: { "content-type": "application/json" },
        data: { action: "promote" },
      });
      assert.equal(post.status(), 401);
      const wrong = await stranger.newPage();
      assert.equal((await wrong.goto(`${ui.origin}/?token=${"A".repeat(43)}`))?.status(), 401);
      await stranger.close();
      console.log(`artefacts: ${listPath} ${livePath} ${reportPath}`);
      await context.close();
    } finally {
      if (deploy && !deploy.run.exited) {
        deploy.child.kill("SIGINT");
        await deploy.status;
      }
      await browser.close();
      if (ui) assert.equal(await ui.stop(), 0);
      await r.remove();
    }
  },
});
