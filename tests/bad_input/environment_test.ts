// Malformed environment files: each is refused (exit 2) with `file:line:column: field: what`
// before anything happens (see _refused.ts for what is asserted). Each file is the
// repository's development.yml with one mistake, written into a temporary folder.
import assert from "node:assert/strict";
import { environmentFile, lineOf, refuses, runWithEnvironment } from "./_refused.ts";

/**
 * Refuses `run basic.ts <name>` with development.yml edited by `edits`; `message` gets the
 * written text (to find the line of the mistake) and the file as messages show it.
 */
async function refusesEnvironment(
  name: string,
  edits: readonly (readonly [string, string])[] | ((dir: string) => Promise<string>),
  message: (text: string, file: string) => RegExp | readonly RegExp[],
  o: { absent?: readonly RegExp[] } = {},
): Promise<string> {
  let text = "";
  const { stderr } = await refuses({
    setup: async (dir) => {
      text = typeof edits === "function"
        ? await edits(dir)
        : await environmentFile(dir, name, edits);
    },
    args: (dir) => runWithEnvironment(dir, name),
    message: () => message(text, `environments/${name}\\.yml`),
    ...(o.absent ? { absent: o.absent } : {}),
  });
  return stderr;
}

// --- wrong types ---------------------------------------------------------------------------

Deno.test("a port written as a word (port: five) names file, line and field", async () => {
  await refusesEnvironment("wrong_type", [["port: 5432", "port: five"]], (t, f) =>
    new RegExp(
      `${f}:${lineOf(t, "port: five")}:9: database\\.port: ` +
        'expected an integer from 1 to 65535, got "five"',
    ));
});

Deno.test("a mapping where a name belongs (namespace: { a: 1 }) names the field", async () => {
  await refusesEnvironment(
    "mapping_for_text",
    [["namespace: tracktion-dev", "namespace: { a: 1 }"]],
    (t, f) =>
      new RegExp(
        `${f}:${lineOf(t, "namespace: {")}:\\d+: environment\\.namespace: .*got a mapping`,
      ),
  );
});

Deno.test("require_confirmation: yes (YAML 1.2 reads a string) says true or false", async () => {
  await refusesEnvironment(
    "yes_for_true",
    [["require_confirmation: false", "require_confirmation: yes"]],
    (t, f) =>
      new RegExp(
        `${f}:${lineOf(t, "require_confirmation: yes")}:\\d+: ` +
          'deployment\\.require_confirmation: expected true or false, got "yes"',
      ),
  );
});

Deno.test("1.5 replicas names the service's field and says a whole number", async () => {
  await refusesEnvironment(
    "fraction",
    [["analysis-service: 1", "analysis-service: 1.5"]],
    (t, f) =>
      new RegExp(
        `${f}:${lineOf(t, "analysis-service: 1.5")}:\\d+: ` +
          "infrastructure\\.replicas\\.analysis-service: expected an integer.*got 1\\.5",
      ),
  );
});

Deno.test("a duration that is not one (webhook_timeout: soon) says what one looks like", async () => {
  await refusesEnvironment(
    "bad_duration",
    [["webhook_timeout: 30s", "webhook_timeout: soon"]],
    (t, f) =>
      new RegExp(
        `${f}:${
          lineOf(t, "webhook_timeout: soon")
        }:\\d+: external_services\\.webhook_timeout: .*"30s".*got "soon"`,
      ),
  );
});

Deno.test('a quantity with the wrong unit (memory: "512MB") says which units', async () => {
  await refusesEnvironment(
    "bad_quantity",
    [['memory: "512Mi"', 'memory: "512MB"']],
    (t, f) =>
      new RegExp(
        `${f}:${
          lineOf(t, '"512MB"')
        }:\\d+: infrastructure\\.resources\\.limits\\.memory: .*Mi.*got "512MB"`,
      ),
  );
});

// --- numbers -------------------------------------------------------------------------------

Deno.test("a negative replica count (-1) names the field and the range", async () => {
  await refusesEnvironment(
    "negative_replicas",
    [["analysis-service: 1", "analysis-service: -1"]],
    (t, f) =>
      new RegExp(
        `${f}:${lineOf(t, "analysis-service: -1")}:\\d+: ` +
          "infrastructure\\.replicas\\.analysis-service: expected an integer >= 0.*got -1",
      ),
  );
});

Deno.test("a negative pool size (min_size: -3) names the field", async () => {
  await refusesEnvironment("negative_pool", [["min_size: 1", "min_size: -3"]], (t, f) =>
    new RegExp(
      `${f}:${lineOf(t, "min_size: -3")}:\\d+: database\\.connection_pool\\.min_size: ` +
        "expected an integer >= 0.*got -3",
    ));
});

Deno.test("a huge port (99999999999999999999999) is shown as written, once", async () => {
  const stderr = await refusesEnvironment(
    "huge_port",
    [["port: 5432", "port: 99999999999999999999999"]],
    (t, f) =>
      new RegExp(
        `${f}:${lineOf(t, "port: 9999")}:9: database\\.port: ` +
          "expected an integer from 1 to 65535, got 99999999999999999999999\n",
      ),
  );
  assert.equal(stderr.match(/database\.port/g)?.length, 1, stderr);
});

Deno.test("replicas: 1e400 (Infinity to a parser) is shown as written", async () => {
  await refusesEnvironment(
    "infinite_replicas",
    [["analysis-service: 1", "analysis-service: 1e400"]],
    (t, f) =>
      new RegExp(
        `${f}:${
          lineOf(t, "1e400")
        }:\\d+: infrastructure\\.replicas\\.analysis-service: .*got 1e400`,
      ),
  );
});

// --- keys ----------------------------------------------------------------------------------

Deno.test("a duplicate key (port twice) names both lines", async () => {
  await refusesEnvironment(
    "duplicate_key",
    [["port: 5432\n", "port: 5432\n  port: 5433\n"]],
    (t, f) =>
      new RegExp(
        `${f}:${lineOf(t, "port: 5433")}:3: database\\.port: ` +
          `duplicate key \\(first defined on line ${lineOf(t, "port: 5432")}\\)`,
      ),
  );
});

Deno.test("a duplicate section (redis: twice) names both lines", async () => {
  await refusesEnvironment(
    "duplicate_section",
    [["\nexternal_services:", "\nredis:\n  port: 6380\n\nexternal_services:"]],
    (t, f) =>
      new RegExp(
        `${f}:${lineOf(t, "redis:\n  port: 6380")}:1: redis: ` +
          `duplicate key \\(first defined on line ${lineOf(t, "redis:")}\\)`,
      ),
  );
});

Deno.test("an unknown top-level key (notifcations:) suggests the one meant", async () => {
  await refusesEnvironment(
    "unknown_key",
    [["\nnotifications:", "\nnotifcations:"]],
    (t, f) =>
      new RegExp(
        `${f}:${
          lineOf(t, "notifcations:")
        }:1: notifcations: unknown key \\(did you mean "notifications"\\?\\)`,
      ),
  );
});

Deno.test("an unknown nested key (database.timeout) lists the known ones", async () => {
  await refusesEnvironment(
    "unknown_nested_key",
    [["  port: 5432\n", "  port: 5432\n  timeout: 30s\n"]],
    (t, f) =>
      new RegExp(
        `${f}:${
          lineOf(t, "timeout: 30s")
        }:3: database\\.timeout: unknown key \\(known keys: .*host`,
      ),
  );
});

Deno.test("a missing required key (database.host) names the section", async () => {
  await refusesEnvironment(
    "missing_key",
    [['  host: "dev-db.tracktion.internal"\n', ""]],
    (t, f) =>
      new RegExp(`${f}:${lineOf(t, "\ndatabase:") + 1}:1: database\\.host: missing required key`),
  );
});

Deno.test("environment.name that is not the file's name says both", async () => {
  await refusesEnvironment(
    "renamed",
    [["name: renamed", "name: staging"]],
    (t, f) =>
      new RegExp(
        `${f}:${lineOf(t, "name: staging")}:\\d+: environment\\.name: ` +
          'expected "renamed" \\(the file\'s name\\), got "staging"',
      ),
  );
});

// --- secrets -------------------------------------------------------------------------------

Deno.test("a database password given as a literal is refused without showing it", async () => {
  await refusesEnvironment(
    "literal_password",
    [["password: { from_env: TRACKTION_DB_PASSWORD }", "password: hunter2-correct-horse"]],
    (t, f) =>
      new RegExp(
        `${f}:${lineOf(t, "hunter2")}:\\d+: database\\.password: expected a secret reference ` +
          ".*got a plain string \\(value not shown\\)",
      ),
    { absent: [/hunter2/] },
  );
});

Deno.test("a GitHub token given as a literal is refused without showing it", async () => {
  await refusesEnvironment(
    "literal_token",
    [["token: { from_env: GITHUB_TOKEN }", "token: ghp_abcdefghijklmnopqrstuvwxyz0123456789"]],
    (t, f) =>
      new RegExp(
        `${f}:${
          lineOf(t, "ghp_")
        }:\\d+: github\\.token: expected a secret reference.*value not shown`,
      ),
    { absent: [/ghp_|abcdefghij/] },
  );
});

// --- YAML itself ---------------------------------------------------------------------------

Deno.test("a YAML alias bomb is refused at the alias, without expanding it", async () => {
  const bomb = ["a: &a [x, x, x, x, x, x, x, x, x]"];
  for (const c of "bcdefgh") {
    bomb.push(
      `${c}: &${c} [${Array(9).fill(`*${String.fromCharCode(c.charCodeAt(0) - 1)}`).join(", ")}]`,
    );
  }
  await refusesEnvironment(
    "alias_bomb",
    [["\ntraffic:", `\nx-bomb:\n${bomb.map((l) => `  ${l}`).join("\n")}\ntraffic:`]],
    (t, f) => [
      new RegExp(`${f}:${lineOf(t, "*a")}:\\d+: x-bomb\\.b(\\.0)?: .*aliases`),
    ],
  );
});

Deno.test("a tab used for indentation is refused at its line", async () => {
  await refusesEnvironment(
    "tabs",
    [['  host: "dev-db.tracktion.internal"', '\thost: "dev-db.tracktion.internal"']],
    (t, f) =>
      new RegExp(
        `${f}:${lineOf(t, "\thost")}:1: invalid YAML: Tabs are not allowed as indentation`,
      ),
  );
});

Deno.test("an unclosed quote is refused at its line", async () => {
  await refusesEnvironment(
    "unclosed_quote",
    [['channel: "#deployments-dev"', 'channel: "#deployments-dev']],
    (t, f) => new RegExp(`${f}:${lineOf(t, '"#deployments-dev')}:\\d+: invalid YAML: `),
  );
});

Deno.test("a second YAML document (---) says an environment file is one mapping", async () => {
  await refusesEnvironment(
    "two_documents",
    [["\nmonitoring:", "\n---\nmonitoring:"]],
    (t, f) =>
      new RegExp(
        `${f}:${lineOf(t, "---")}:1: invalid YAML: a second document starts here \\(---\\): ` +
          "an environment file is one mapping",
      ),
    { absent: [/parseAllDocuments/] },
  );
});

Deno.test("an empty file says it is empty", async () => {
  await refusesEnvironment("empty", async (dir) => {
    await Deno.mkdir(`${dir}/environments`);
    await Deno.writeTextFile(`${dir}/environments/empty.yml`, "# nothing yet\n");
    return "";
  }, (_t, f) => new RegExp(`${f}:1:1: the file is empty: expected a mapping`));
});

Deno.test("a list instead of a mapping says a mapping was expected", async () => {
  await refusesEnvironment("a_list", async (dir) => {
    await Deno.mkdir(`${dir}/environments`);
    await Deno.writeTextFile(`${dir}/environments/a_list.yml`, "- name: a_list\n- port: 1\n");
    return "";
  }, (_t, f) => new RegExp(`${f}:1:1: .*expected a mapping.*got a list`));
});

Deno.test("a byte that is not UTF-8 (in a comment) is refused at its line", async () => {
  await refusesEnvironment("latin1", async (dir) => {
    const text = await environmentFile(dir, "latin1", [[
      "# Expected traffic",
      "# caf\u00e9 traffic",
    ]]);
    const marked = text.replace("caf\u00e9", "cafX");
    const bytes = new TextEncoder().encode(marked);
    bytes[new TextEncoder().encode(marked.slice(0, marked.indexOf("cafX") + 3)).length] = 0xe9;
    await Deno.writeFile(`${dir}/environments/latin1.yml`, bytes);
    return text;
  }, (t, f) =>
    new RegExp(
      `${f}:${lineOf(t, "caf")}:\\d+: the file is not UTF-8 text \\(byte 0xe9\\): save it as UTF-8`,
    ));
});

Deno.test("a 2 MiB environment file is refused without being parsed", async () => {
  await refusesEnvironment("huge_file", async (dir) => {
    const text = await environmentFile(dir, "huge_file", []);
    await Deno.writeTextFile(
      `${dir}/environments/huge_file.yml`,
      text + `# ${"x".repeat(98)}\n`.repeat(21_000),
    );
    return text;
  }, (_t, f) => new RegExp(`${f}: the file is 2\\.\\d MiB: an environment file is at most 1 MiB`));
});

Deno.test("an environment file that is a folder says so", async () => {
  await refusesEnvironment("folder", async (dir) => {
    await Deno.mkdir(`${dir}/environments/folder.yml`, { recursive: true });
    return "";
  }, (_t, f) => new RegExp(`Cannot read environment "folder": ${f} is a folder, not a file`));
});
