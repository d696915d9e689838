// The tamper tests of issue 15: an edit to a run's report or journal is caught, with a message
// naming where — one byte in the report, one byte in the journal, a deleted journal line, the
// run's status, a gate sample's value (2.439 → 0.439), and every other kind of fact the
// report states (checks' evidence, approvals, attempts, rollback, error, undelivered, the
// journal's count). A clean copy verifies. One rolled-back run; each edit on a copy of it.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { GENESIS } from "../../lib/journal/journal.ts";
import { verifyReport } from "../../lib/report/verify.ts";
import { auditedRun, BREACH, copyRun, editReport, journalOf, type Json } from "./_audited.ts";

Deno.test("verifyReport() catches every edit of a report or its journal, naming where", async (t) => {
  const run = await auditedRun();
  const journal = await journalOf(run.runDir);
  const finished = journal.length; // run.finished's line
  const canary = run.report.stages.findIndex((s) => s.id === "canary");
  const copies: string[] = [];
  /** The first mismatch's message after `edit` on a copy of the run. */
  const caught = async (edit: (dir: string) => Promise<void>) => {
    const dir = await copyRun(run.runDir);
    copies.push(dir);
    await edit(dir);
    const v = await verifyReport(dir);
    assert.equal(v.ok, false, "the edit is caught");
    return v.mismatch!.message;
  };
  const report = (edit: (r: Json) => void) => caught((dir) => editReport(dir, edit));
  try {
    await t.step("a clean copy verifies", async () => {
      const dir = await copyRun(run.runDir);
      copies.push(dir);
      assert.equal((await verifyReport(dir)).ok, true);
    });

    await t.step("the run's status rolled_back → succeeded", async () => {
      assert.equal(
        await report((r) => r.status = "succeeded"),
        `report.json status is "succeeded", the journal (line ${finished}) says "rolled_back"`,
      );
    });

    await t.step("a breaching sample's value 2.439 → 0.439: its gate.sample line", async () => {
      const gate = run.report.stages[canary]!.gates[0]!;
      const k = gate.samples.findIndex((s) => s.value === BREACH);
      const line = journal.findIndex((e) => e.type === "gate.sample" && e.value === BREACH) + 1;
      assert.ok(k >= 0 && line > 0);
      assert.equal(
        await report((r) => r.stages[canary].gates[0].samples[k].value = 0.439),
        `report.json stages[${canary}].gates[0].samples[${k}].value is 0.439, the journal (line ${line}) says 2.439`,
      );
    });

    await t.step("one byte in the report, anywhere in its words and numbers", async () => {
      const text = await Deno.readTextFile(run.reportPath);
      const positions = [...text.matchAll(/[A-Za-z0-9]/g)].map((m) => m.index!);
      // 40 positions spread over the whole file.
      for (let i = 0; i < 40; i++) {
        const at = positions[Math.floor((i * positions.length) / 40)]!;
        const was = text[at]!;
        const now = was === "1" ? "2" : /[0-9]/.test(was) ? "1" : was === "x" ? "y" : "x";
        const message = await caught((dir) =>
          Deno.writeTextFile(`${dir}/report.json`, text.slice(0, at) + now + text.slice(at + 1))
        );
        assert.match(message, /report\.json/, `byte ${at} (${was} → ${now}): ${message}`);
      }
    });

    await t.step(
      "a byte of a field no event states: caught by the digest run.finished recorded",
      async () => {
        assert.equal(
          await report((r) => r.stages[0].log = r.stages[0].log.replace("preflight", "preflighs")),
          "report.json was changed after the run: it does not match the digest the journal's " +
            `run.finished (line ${finished}) recorded`,
        );
      },
    );

    await t.step("one byte in the journal: the chain names the line", async () => {
      const text = await Deno.readTextFile(`${run.runDir}/events.jsonl`);
      const starts = [0, ...[...text.matchAll(/\n/g)].map((m) => m.index! + 1)].slice(0, -1);
      for (const line of [1, 5, 18, finished - 1]) {
        // A byte in the middle of the line (its body, after the chain fields).
        const at = starts[line - 1]! + Math.floor((starts[line]! - starts[line - 1]!) * 0.7);
        const now = text[at] === "a" ? "b" : "a";
        const message = await caught((dir) =>
          Deno.writeTextFile(`${dir}/events.jsonl`, text.slice(0, at) + now + text.slice(at + 1))
        );
        assert.ok(
          message === `events.jsonl is broken at line ${line + 1}: line ${line + 1} does not ` +
                `carry the hash of line ${line} (line ${line} or ${line + 1} was changed, or a ` +
                "line between them removed)" ||
            message === `events.jsonl is broken at line ${line}: line ${line} is not JSON`,
          message,
        );
      }
      // The last line: no line after it carries its hash; the report's digest of it does.
      const at = text.length - 10;
      const edited = text.slice(0, at) + "x" + text.slice(at + 1);
      const last = edited.slice(starts.at(-1)!, -1);
      assert.equal(
        await caught((dir) => Deno.writeTextFile(`${dir}/events.jsonl`, edited)),
        `report.json events.digest is ${run.report.events.digest}, the journal's last line ` +
          `(line ${finished}) hashes to ${createHash("sha256").update(last).digest("hex")}: ` +
          `line ${finished} was changed, or the report is of another journal`,
      );
    });

    await t.step("a deleted journal line: in the middle, and at the end", async () => {
      const lines = (await Deno.readTextFile(`${run.runDir}/events.jsonl`)).split("\n");
      const without = (n: number) => (dir: string) =>
        Deno.writeTextFile(`${dir}/events.jsonl`, lines.filter((_, i) => i !== n - 1).join("\n"));
      assert.equal(
        await caught(without(10)),
        "events.jsonl is broken at line 10: line 10 does not carry the hash of line 9 (line 9 " +
          "or 10 was changed, or a line between them removed)",
      );
      assert.equal(
        await caught(without(finished)),
        `report.json events.count is ${finished}, the journal has ${finished - 1} lines ` +
          "(lines were removed from the end of events.jsonl)",
      );
    });

    /** Rewrites the journal's lines and chains them again (what a forger without a key can do). */
    const rechained = (edit: (events: Json[]) => void) => async (dir: string) => {
      const events = await journalOf(dir);
      edit(events);
      let prev = GENESIS;
      const lines = events.map((e) => {
        const line = JSON.stringify({ ...e, prev });
        prev = createHash("sha256").update(line).digest("hex");
        return line;
      });
      await Deno.writeTextFile(`${dir}/events.jsonl`, lines.join("\n") + "\n");
      await editReport(dir, (r) => r.events.digest = prev);
    };

    await t.step(
      "a journal re-chained with another sample value: the report disagrees",
      async () => {
        const line = journal.findIndex((e) => e.type === "gate.sample" && e.value === BREACH) + 1;
        const message = await caught(rechained((events) => events[line - 1]!.value = 0.439));
        assert.match(
          message,
          new RegExp(
            `samples\\[\\d\\]\\.value is 2\\.439, the journal \\(line ${line}\\) says 0\\.439$`,
          ),
        );
      },
    );

    await t.step("a re-chained journal that does not hold together names its line", async () => {
      const line = journal.findIndex((e) => e.type === "gate.verdict") + 1;
      assert.equal(
        await caught(rechained((events) => events[line - 1]!.sampleSeqs[0] = 2)),
        `events.jsonl line ${line} does not hold together: the gate.verdict of "error_rate < 1%" ` +
          '(stage "canary") names line 2 as its sample, which is not a gate.sample of that stage',
      );
    });

    await t.step("the journal's count and digest in the report", async () => {
      assert.match(
        await report((r) => r.events.count += 1),
        /^report\.json events\.count is \d+, the journal has \d+ lines/,
      );
      assert.match(
        await report((r) => r.events.digest = "0".repeat(64)),
        /^report\.json events\.digest is 0{64}, the journal's last line/,
      );
    });

    const lineOf = (type: string, where: (e: Json) => boolean = () => true) =>
      journal.findIndex((e) => e.type === type && where(e)) + 1;
    const cases: [string, (r: Json) => void, string][] = [
      [
        "a check's evidence",
        (r) => r.stages[0].checks[1].evidence.usedPct = 40,
        `report.json stages[0].checks[1].evidence.usedPct is 40, the journal (line ${
          lineOf("check", (e) => e.name === "disk space")
        }) says 91`,
      ],
      [
        "a check's status",
        (r) => r.stages[0].checks[1].status = "passed",
        `report.json stages[0].checks[1].status is "passed", the journal (line ${
          lineOf("check", (e) => e.name === "disk space")
        }) says "warned"`,
      ],
      [
        "a stage's approval",
        (r) => r.stages[1].approval.by = "mallory@example.com",
        `report.json stages[1].approval.by is "mallory@example.com", the journal (line ${
          lineOf("approval")
        }) says "ann@example.com"`,
      ],
      [
        "the run's approvals (target.approvals)",
        (r) => r.target.approvals.approvals[0].github = "mallory",
        'report.json target.approvals.approvals[0].github is "mallory", the journal (line 1) ' +
        'says "bob"',
      ],
      [
        "a failed attempt removed",
        (r) => r.stages[2].attempts.shift(),
        `report.json stages[2].attempts[0].attempt is 2, the journal (line ${
          lineOf("stage.attempt")
        }) says 1`,
      ],
      [
        "a stage's reason",
        (r) => r.stages[canary].reason = "fine",
        `report.json stages[${canary}].reason is "fine", the journal (line ${
          lineOf("stage.finished", (e) => e.stage === "canary")
        }) says "error_rate < 1%: error_rate < 1% breached for service=worker`,
      ],
      [
        "a gate's verdict",
        (r) => r.stages[canary].gates[0].verdict = "passed",
        `report.json stages[${canary}].gates[0].verdict is "passed", the journal (line ${
          lineOf("gate.verdict")
        }) says "failed"`,
      ],
      [
        "a sample removed",
        (r) => r.stages[canary].gates[1].samples.pop(),
        `report.json stages[${canary}].gates[1].samples[3] is absent, the journal (line ${
          journal.findLastIndex((e) => e.type === "gate.sample" && e.gate.startsWith("p95")) + 1
        }) says`,
      ],
      [
        "the rollback",
        (r) => r.rollback.succeeded = false,
        `report.json rollback.succeeded is false, the journal (line ${finished}) says true`,
      ],
      [
        "the error",
        (r) => delete r.error,
        `report.json error is absent, the journal (line ${finished}) says "stage \\"canary\\" failed`,
      ],
      [
        "an undelivered notification",
        (r) => r.undelivered = [],
        `report.json undelivered[0] is absent, the journal (line ${
          lineOf("stage.finished", (e) => e.stage === "notify")
        }) says {"stage":"notify","channel":"slack"`,
      ],
      [
        "a target's field renamed",
        (r) => {
          r.target.nxmespace = r.target.namespace;
          delete r.target.namespace;
        },
        'report.json target.namespace is absent, the journal (line 1) says "audit"',
      ],
      [
        "a field added to a gate sample",
        (r) => r.stages[canary].gates[0].samples[0].detail = "fine",
        `report.json stages[${canary}].gates[0].samples[0].detail is "fine", the journal (line ${
          lineOf("gate.sample")
        }) has none`,
      ],
      [
        "a stage removed",
        (r) => r.stages.pop(),
        'report.json stages[5] is absent, the journal (line 1) says {"id":"notify"',
      ],
    ];
    for (const [what, edit, message] of cases) {
      await t.step(what, async () => {
        const got = await report(edit);
        assert.ok(got.startsWith(message), `${got}\n  expected: ${message}`);
      });
    }
  } finally {
    for (const dir of copies) await Deno.remove(dir, { recursive: true });
    await run.cleanup();
  }
});
