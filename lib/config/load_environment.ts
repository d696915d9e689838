/**
 * Loading and validating environment files, with errors that name file, line and field.
 * @module
 */
import { isAbsolute, join, relative, resolve } from "node:path";
import { isScalar, LineCounter, parseDocument, visit, type YAMLError } from "yaml";
import type { z } from "zod";
import { ConfigError, type Problem, shortInput } from "./config_error.ts";
import {
  describeValue,
  firstKeyLine,
  knownKeys,
  locate,
  type Path,
  pathAtOffset,
  pathContaining,
  positionOf,
  schemaAt,
  suggest,
} from "./_locate.ts";
import { type Environment, environmentSchema } from "./schema.ts";
import { readEnvironmentSource, unclosedQuoteLine } from "./_source.ts";

const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/**
 * The longest environment name: 63 characters, a Kubernetes label value's limit (the name goes
 * into labels, annotations and run ids).
 *
 * @example
 * ```ts
 * import { MAX_ENVIRONMENT_NAME } from "./mod.ts";
 * console.assert(MAX_ENVIRONMENT_NAME === 63);
 * ```
 */
export const MAX_ENVIRONMENT_NAME = 63;

/**
 * Why `name` cannot name an environment (a path, a shell word, too long), or `undefined`
 * when it can: the CLI checks it before anything else, {@linkcode loadEnvironment} again.
 *
 * @param name The name as given.
 * @returns The message, naming the input (cut when long) and what a name looks like.
 *
 * @example
 * ```ts
 * import { environmentNameProblem } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(environmentNameProblem("staging"), undefined);
 * assert.match(environmentNameProblem("../prod")!, /Invalid environment name "\.\.\/prod"/);
 * ```
 */
export function environmentNameProblem(name: string): string | undefined {
  const plain = PLAIN_NAME.test(name);
  if (plain && name.length <= MAX_ENVIRONMENT_NAME) return undefined;
  return `Invalid environment name ${shortInput(name)}: ` +
    'expected a plain word (letters, digits, "-" and "_")' +
    (plain ? ` of at most ${MAX_ENVIRONMENT_NAME} characters` : "");
}

/** Options for {@linkcode parseEnvironment}. */
export interface ParseEnvironmentOptions {
  /** The environment's name; `environment.name` in the file must match it. */
  name: string;
  /** The file name used in messages. */
  file: string;
}

/**
 * Parses and validates the text of an environment file. Collects every problem (YAML
 * syntax, duplicate keys, unknown or missing keys, wrong values) before throwing.
 *
 * @param source The YAML text.
 * @param options The environment's name and the file name for messages.
 * @returns The validated environment.
 * @throws {ConfigError} With one {@linkcode Problem} per problem found.
 *
 * @example
 * ```ts
 * import { ConfigError, parseEnvironment } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.throws(
 *   () => parseEnvironment("environment:\n  name: [", { name: "x", file: "x.yml" }),
 *   ConfigError,
 * );
 * ```
 */
export function parseEnvironment(source: string, options: ParseEnvironmentOptions): Environment {
  const { name, file } = options;
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, uniqueKeys: true, prettyErrors: true });
  const at = (path: string, line: number, column: number, message: string): Problem => ({
    file,
    line,
    column,
    path,
    message,
  });
  if (doc.errors.length > 0) {
    throw new ConfigError(sortProblems(doc.errors.map((error) => yamlProblem(error))));
  }
  if (doc.contents === null) {
    throw new ConfigError([at("", 1, 1, "the file is empty: expected a mapping")]);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // The yaml package refuses alias "bombs" (exponential expansion) here.
    const reason = error instanceof Error ? error.message : String(error);
    const first = firstAlias();
    throw new ConfigError([
      at("", 1, 1, `invalid YAML: ${reason} (more than ${MAX_ALIAS_COUNT} aliases expanded)`),
      ...(first ? [first] : []),
    ]);
  }
  const result = environmentSchema.safeParse(raw);
  const problems: Problem[] = [];
  for (const issue of result.success ? [] : result.error.issues) {
    problems.push(...issueProblems(issue));
  }
  const declared = (raw as { environment?: { name?: unknown } } | null)?.environment?.name;
  if (typeof declared === "string" && declared !== name) {
    const { line, column } = positionOf(
      locate(doc, ["environment", "name"]).found.value,
      lineCounter,
    );
    problems.push(at(
      "environment.name",
      line,
      column,
      `expected ${JSON.stringify(name)} (the file's name), got ${JSON.stringify(declared)}`,
    ));
  }
  if (!result.success || problems.length > 0) throw new ConfigError(sortProblems(problems));
  return { ...result.data, name, file };

  /** Where an alias bomb starts: its first alias, with the field it is in. */
  function firstAlias(): Problem | undefined {
    let first: number | undefined;
    visit(doc, {
      Alias(_key, node) {
        first = node.range?.[0];
        return visit.BREAK;
      },
    });
    if (first === undefined) return undefined;
    const { line, col } = lineCounter.linePos(first);
    return at(
      pathContaining(doc, first).join("."),
      line,
      col,
      "the first of its aliases (*name) is here: write the values out, or use fewer aliases",
    );
  }

  /** A value as the file wrote it, for a number the parser changed (`1e400`, a 23-digit port). */
  function written(path: Path): string | undefined {
    const node = locate(doc, path).found.value;
    const value = isScalar(node) ? node.value : undefined;
    const source = isScalar(node) ? (node as { source?: unknown }).source : undefined;
    return typeof value === "number" && typeof source === "string" && source !== String(value)
      ? source
      : undefined;
  }

  function yamlProblem(error: YAMLError): Problem {
    const [line, column] = [error.linePos?.[0].line ?? 1, error.linePos?.[0].col ?? 1];
    if (error.code === "MULTIPLE_DOCS") {
      return at(
        "",
        line,
        1,
        "invalid YAML: a second document starts here (---): an environment file is one mapping (remove the ---)",
      );
    }
    const quote = /^Missing closing (["'])quote/.exec(error.message)?.[1] as '"' | "'" | undefined;
    const opened = quote && unclosedQuoteLine(source, quote);
    if (opened) {
      return at(
        "",
        opened,
        1,
        `invalid YAML: the ${quote} opened on this line is never closed (add the closing ${quote})`,
      );
    }
    if (error.code === "DUPLICATE_KEY") {
      const path = pathAtOffset(doc, error.pos[0]) ?? [];
      const first = firstKeyLine(doc, path, lineCounter);
      const firstText = first === undefined ? "" : ` (first defined on line ${first})`;
      return at(path.join("."), line, column, `duplicate key${firstText}`);
    }
    const summary = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    return at("", line, column, `invalid YAML: ${summary}`);
  }

  function issueProblems(issue: z.core.$ZodIssue): Problem[] {
    const path = issue.path;
    const dotted = (p: Path) => p.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      const known = knownKeys(environmentSchema, path);
      return issue.keys.map((key) => {
        const keyPath = [...path, key];
        const pos = positionOf(locate(doc, keyPath).found.key, lineCounter);
        const guess = suggest(key, known);
        const hint = guess === undefined
          ? `known keys: ${known.join(", ")}`
          : `did you mean ${JSON.stringify(guess)}?`;
        return at(dotted(keyPath), pos.line, pos.column, `unknown key (${hint})`);
      });
    }
    if (issue.code === "invalid_key") {
      const pos = positionOf(locate(doc, path).found.key, lineCounter);
      const expected = issue.issues[0]?.message ?? "expected a valid key";
      const key = String(path[path.length - 1]);
      return [at(dotted(path), pos.line, pos.column, `${expected}, got ${JSON.stringify(key)}`)];
    }
    const { sensitive } = schemaAt(environmentSchema, path);
    const parentPath = path.slice(0, -1);
    const parent = valueAt(raw, parentPath);
    const last = path[path.length - 1];
    if (
      last !== undefined && isMapping(parent) && !Object.hasOwn(parent, String(last))
    ) {
      const { found } = locate(doc, parentPath);
      const pos = positionOf(found.key ?? found.value, lineCounter);
      return [at(dotted(path), pos.line, pos.column, `missing required key (${issue.message})`)];
    }
    const { found } = locate(doc, path);
    const pos = positionOf(found.value ?? found.key, lineCounter);
    const got = sensitive || issue.message.includes(" got ")
      ? ""
      : `, got ${written(path) ?? describeValue(valueAt(raw, path))}`;
    return [at(dotted(path), pos.line, pos.column, `${issue.message}${got}`)];
  }
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function valueAt(root: unknown, path: Path): unknown {
  let current = root;
  for (const segment of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment as string];
  }
  return current;
}

/** The problems in file order, each once (a value can break two rules with one message). */
function sortProblems(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.sort((a, b) => a.line - b.line || a.column - b.column).filter((p) => {
    const key = JSON.stringify([p.line, p.column, p.path, p.message]);
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/** How many aliases an environment file may expand (more is refused, at the first alias). */
const MAX_ALIAS_COUNT = 100;

/**
 * The folder of environment files when none is given, relative to the working directory
 * (every command's `--environments-dir` defaults to it).
 *
 * @example
 * ```ts
 * import { ENVIRONMENTS_DIR } from "./mod.ts";
 * console.assert(ENVIRONMENTS_DIR === "environments");
 * ```
 */
export const ENVIRONMENTS_DIR = "environments";

/** Options for {@linkcode loadEnvironment} and {@linkcode listEnvironments}. */
export interface EnvironmentDirOptions {
  /** The folder holding `<name>.yml` files; defaults to {@linkcode ENVIRONMENTS_DIR}. */
  dir?: string;
}

/**
 * Shows a path relative to the working directory when it is inside it.
 *
 * @param path Any path.
 * @returns The path as messages show it.
 */
export function displayPath(path: string): string {
  const absolute = resolve(path);
  const rel = relative(Deno.cwd(), absolute);
  return rel === "" || rel.startsWith("..") || isAbsolute(rel) ? absolute : rel;
}

/**
 * Lists the environments in a folder: the base names of its `*.yml` files, sorted.
 *
 * @param options The folder (defaults to `environments`).
 * @returns The names; empty when the folder does not exist.
 *
 * @example
 * ```ts
 * import { listEnvironments } from "./mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(await listEnvironments({ dir: "/nonexistent" }), []);
 * ```
 */
export async function listEnvironments(options: EnvironmentDirOptions = {}): Promise<string[]> {
  const dir = options.dir ?? ENVIRONMENTS_DIR;
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".yml")) names.push(entry.name.slice(0, -4));
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return names.sort();
}

/**
 * Loads and validates `<dir>/<name>.yml`.
 *
 * @param name The environment's name: a plain word such as `"staging"` (no paths).
 * @param options The folder (defaults to `environments` under the cwd).
 * @returns The validated environment.
 * @throws {ConfigError} When the name is not a plain word, the file does not exist or
 * cannot be read, or the file is not a valid environment (every problem is listed).
 *
 * @example
 * ```ts ignore
 * import { loadEnvironment } from "./mod.ts";
 * const staging = await loadEnvironment("staging");
 * console.log(staging.environment.namespace);
 * ```
 */
export async function loadEnvironment(
  name: string,
  options: EnvironmentDirOptions = {},
): Promise<Environment> {
  const dir = options.dir ?? ENVIRONMENTS_DIR;
  const file = displayPath(join(dir, `${name}.yml`));
  const fail = (message: string): never => {
    throw new ConfigError([{ file, line: 0, column: 0, path: "", message }]);
  };
  const invalid = environmentNameProblem(name);
  if (invalid !== undefined) fail(invalid);
  let source: string;
  try {
    source = await readEnvironmentSource(join(dir, `${name}.yml`), file, name);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    if (error instanceof Deno.errors.NotFound) {
      const known = await listEnvironments({ dir });
      const list = known.length === 0 ? "none" : known.join(", ");
      const yaml = join(dir, `${name}.yaml`);
      const hint = await Deno.stat(yaml).then(
        () => `; found ${displayPath(yaml)}: environment files end in .yml`,
        () => "",
      );
      return fail(
        `Unknown environment ${JSON.stringify(name)}: no ${file} (known: ${list})${hint}`,
      );
    }
    return fail(`Cannot read environment ${JSON.stringify(name)}: ${file}: ${String(error)}`);
  }
  return parseEnvironment(source, { name, file });
}
