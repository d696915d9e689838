/**
 * The scan: grype's and trivy's JSON read into counts, the runbook's threshold (critical > 0
 * or high > 5 fails) on each side of it, and in the pipeline — a stand-in for grype (neither
 * grype nor trivy is packaged by Debian) printing grype's JSON: over the threshold the image is
 * pushed but never signed; no scanner fails closed in production and warns elsewhere.
 * @module
 */
import assert from "node:assert/strict";
import { parseScanReport, runScanner, scanVerdict } from "../../lib/build/scan.ts";
import { SCAN_LIMITS } from "../../pipelines/build.ts";
import {
  buildahTest,
  cli,
  grypeReport,
  grypeStandIn,
  reportOf,
  startRegistry,
  tags,
  workspace,
} from "./_build.ts";

const fixture = (name: string) => Deno.readTextFile(new URL(`./fixtures/${name}`, import.meta.url));

Deno.test("parseScanReport() counts grype's matches by severity", async () => {
  const r = parseScanReport(await fixture("grype_report.json"));
  assert.equal(r.format, "grype");
  assert.deepEqual(r.counts, {
    critical: 1,
    high: 6,
    medium: 2,
    low: 0,
    negligible: 1,
    unknown: 0,
  });
  assert.deepEqual(r.findings[0], {
    id: "CVE-2024-5535",
    severity: "critical",
    package: "libssl3@3.0.11-1~deb12u2",
  });
});

Deno.test("parseScanReport() counts trivy's vulnerabilities, and a result without any", async () => {
  const r = parseScanReport(await fixture("trivy_report.json"));
  assert.equal(r.format, "trivy");
  assert.deepEqual(r.counts, {
    critical: 1,
    high: 1,
    medium: 1,
    low: 0,
    negligible: 0,
    unknown: 0,
  });
});

Deno.test("parseScanReport() refuses what is neither report", () => {
  assert.throws(() => parseScanReport("Vulnerability DB update failed"), /not JSON/);
  assert.throws(() => parseScanReport('{"results":[]}'), /neither grype's JSON/);
});

Deno.test("scanVerdict() at the runbook's threshold: 0 critical and 5 high pass; 1 critical or 6 high fail", async () => {
  const subset = async (critical: number, high: number) => {
    const seen = { Critical: 0, High: 0 } as Record<string, number>;
    return parseScanReport(
      await grypeReport((m) => {
        const s = m.vulnerability.severity;
        if (s !== "Critical" && s !== "High") return true;
        return ++seen[s]! <= (s === "Critical" ? critical : high);
      }),
    );
  };
  assert.equal(scanVerdict(await subset(0, 5), SCAN_LIMITS).ok, true);
  assert.equal(scanVerdict(await subset(0, 0), SCAN_LIMITS).ok, true);
  const six = scanVerdict(await subset(0, 6), SCAN_LIMITS);
  assert.deepEqual(six.exceeded, ["high: 6 (max 5)"]);
  assert.equal(six.blocking.length, 6);
  const critical = scanVerdict(await subset(1, 0), SCAN_LIMITS);
  assert.deepEqual(critical.exceeded, ["critical: 1 (max 0)"]);
  assert.deepEqual(critical.blocking, ["CVE-2024-5535 (critical, libssl3@3.0.11-1~deb12u2)"]);
  // Medium and lower never fail, however many.
  assert.equal(scanVerdict(await subset(0, 0), { critical: 0, high: 5 }).exceeded.length, 0);
});

Deno.test("runScanner() runs the first scanner installed, and says none is", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const standIn = await grypeStandIn(dir, await fixture("grype_report.json"));
    const r = await runScanner({
      programs: [`${dir}/no-such-grype`, standIn],
      image: "127.0.0.1:5000/team/app@sha256:00",
      plainHttp: true,
    });
    assert.ok("report" in r);
    assert.equal(r.scanner, standIn);
    assert.equal(r.report.counts.high, 6);
    assert.equal(
      (await Deno.readTextFile(`${dir}/grype-standin-args`)).trim(),
      "registry:127.0.0.1:5000/team/app@sha256:00 -o json -q",
    );
    const none = await runScanner({ programs: [`${dir}/a`, `${dir}/b`], image: "x@sha256:00" });
    assert.ok("missing" in none);
    assert.match(none.missing, /no scanner is installed/);
    // A scanner that prints no report is an error naming it, not a pass.
    const broken = `${dir}/broken-grype`;
    await Deno.writeTextFile(broken, "#!/bin/sh\necho 'db is stale' >&2\nexit 1\n", {
      mode: 0o755,
    });
    await assert.rejects(
      runScanner({ programs: [broken], image: "x@sha256:00" }),
      /broken-grype failed to scan x@sha256:00 \(exit 1\): db is stale/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

buildahTest(
  "build pipeline: over the threshold the image is not signed; without a scanner production fails closed, staging warns",
  async () => {
    const registry = await startRegistry();
    const ws = await workspace();
    try {
      const repository = "tracktion/analysis-service";
      const run = (env: string, version: string, scanner: string) =>
        cli([
          "run",
          "pipelines/build.ts",
          env,
          version,
          ...ws.args(
            registry.host,
            "--option",
            "services=analysis-service",
            "--option",
            `scanner=${scanner}`,
          ),
        ]);
      const sigTags = async () =>
        (await tags(registry.host, repository)).filter((t) => t.endsWith(".sig"));

      const six = { n: 0 };
      const overHigh = await grypeStandIn(
        ws.dir,
        await grypeReport((m) =>
          m.vulnerability.severity !== "Critical" &&
          (m.vulnerability.severity !== "High" || ++six.n <= 6)
        ),
      );
      const high = await run("production", "v2.0.0", overHigh);
      assert.equal(high.code, 1, `${high.stdout}\n${high.stderr}`);
      assert.match(high.stdout, /✗ scan:analysis-service .*fails the scan .*high: 6 \(max 5\)/);
      assert.match(high.stdout, /sign:analysis-service: skipped/);
      assert.ok((await tags(registry.host, repository)).includes("2.0.0"), "pushed, to be scanned");
      assert.deepEqual(await sigTags(), [], "never signed");

      const critical = await grypeStandIn(
        ws.dir,
        await grypeReport((m) => m.vulnerability.severity === "Critical"),
      );
      const crit = await run("staging", "v2.0.1", critical);
      assert.equal(crit.code, 1);
      assert.match(crit.stdout, /critical: 1 \(max 0\): CVE-2024-5535/);
      assert.deepEqual(await sigTags(), []);

      const none = await run("production", "v2.0.2", `${ws.dir}/no-grype-here`);
      assert.equal(none.code, 1);
      assert.match(none.stdout, /no scanner is installed.*: production fails closed/);
      assert.deepEqual(await sigTags(), []);

      const warned = await run("staging", "v2.0.3", `${ws.dir}/no-grype-here`);
      assert.equal(warned.code, 0, `${warned.stdout}\n${warned.stderr}`);
      assert.match(
        warned.stdout,
        /warning: ghcr.io\/tracktion\/analysis-service:2.0.3 not scanned/,
      );
      const report = await reportOf(warned);
      const scan = report.stages.find((s) => s.id === "scan:analysis-service");
      assert.equal((scan?.output as { verdict: string }).verdict, "not-scanned");
      assert.equal((await sigTags()).length, 2, "the image and its SBOM, signed");
    } finally {
      await ws.cleanup();
      await registry.stop();
    }
  },
);
