// Environment loading costs: the runner validates an environment before every run.
import { fileURLToPath } from "node:url";
import {
  ConfigError,
  diffEnvironments,
  loadEnvironment,
  parseEnvironment,
} from "../lib/config/mod.ts";

const ENVIRONMENTS = fileURLToPath(new URL("../environments", import.meta.url));
const FIXTURES = fileURLToPath(new URL("../tests/config/fixtures", import.meta.url));
const production = await Deno.readTextFile(`${ENVIRONMENTS}/production.yml`);
const broken = await Deno.readTextFile(`${FIXTURES}/many_problems.yml`);
const staging = await loadEnvironment("staging", { dir: ENVIRONMENTS });
const prod = await loadEnvironment("production", { dir: ENVIRONMENTS });

Deno.bench("parseEnvironment() production.yml (valid)", { group: "parse", baseline: true }, () => {
  parseEnvironment(production, { name: "production", file: "production.yml" });
});

Deno.bench("parseEnvironment() many_problems.yml (6 problems)", { group: "parse" }, () => {
  try {
    parseEnvironment(broken, { name: "many_problems", file: "many_problems.yml" });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
  }
});

Deno.bench("loadEnvironment() production (read + parse + validate)", async () => {
  await loadEnvironment("production", { dir: ENVIRONMENTS });
});

Deno.bench("diffEnvironments() staging vs production", () => {
  diffEnvironments(staging, prod);
});
