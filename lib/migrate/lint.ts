/**
 * The risky-DDL linter: run before `up`, and as a check by the deploy pipeline.
 * @module
 */

import type { LintOverride, Migration } from "./migration_files.ts";
import { LINT_RULES, type LintSeverity, parseStatement, type RuleContext } from "./_lint_rules.ts";
import { lineAt } from "./sql_split.ts";

export type { LintSeverity } from "./_lint_rules.ts";

/** One risky statement found by {@linkcode lintMigrations}. */
export interface LintFinding {
  /** The rule's id, e.g. `"create-index-not-concurrently"`. */
  rule: string;
  /** `error` blocks production unless overridden; `warning` never blocks. */
  severity: LintSeverity;
  /** The migration's version. */
  version: number;
  /** The file. */
  file: string;
  /** 1-based line of the risky clause. */
  line: number;
  /** What is risky and what to do instead. */
  message: string;
  /** The reviewed `-- <directive>:lint-ignore` that accepts this risk, if any. */
  overriddenBy?: LintOverride;
}

/** Options for {@linkcode lintMigrations}. */
export interface LintOptions {
  /** Only lint these versions (e.g. the pending ones). Default: every migration. */
  versions?: Iterable<number>;
}

/** A rule's description, for help texts and reports. */
export interface LintRuleInfo {
  /** Id used in findings and overrides. */
  id: string;
  /** Default severity. */
  severity: LintSeverity;
  /** What it catches. */
  description: string;
}

/**
 * Lists the linter's rules.
 *
 * @returns Every rule's id, severity and description.
 *
 * @example
 * ```ts
 * import { lintRules } from "./lint.ts";
 * import assert from "node:assert/strict";
 * assert.ok(lintRules().some((rule) => rule.id === "drop-column"));
 * ```
 */
export function lintRules(): LintRuleInfo[] {
  return LINT_RULES.map(({ id, severity, description }) => ({ id, severity, description }));
}

/**
 * Lints the up scripts of migrations for DDL that is risky on a live database: index
 * builds that block writes, table rewrites, long exclusive locks, and changes that
 * break the previous version still serving during a blue-green switch. A table created
 * in the same script counts as new (nothing to lock). Down scripts are not linted:
 * they exist to undo, and run only on rollback.
 *
 * @param migrations The migrations, e.g. from {@linkcode loadMigrations}.
 * @param options Which versions to lint.
 * @returns The findings, in file and line order; overridden ones carry `overriddenBy`.
 *
 * @example
 * ```ts
 * import { lintMigrations } from "./lint.ts";
 * import { parseMigrationScript } from "./migration_files.ts";
 * import assert from "node:assert/strict";
 * const up = parseMigrationScript("0002_idx.up.sql", "CREATE INDEX i ON audio_files (path);\n");
 * const findings = lintMigrations([{ version: 2, name: "idx", up, down: undefined }]);
 * assert.equal(findings[0]?.rule, "create-index-not-concurrently");
 * assert.equal(findings[0]?.line, 1);
 * ```
 */
export function lintMigrations(
  migrations: readonly Migration[],
  options: LintOptions = {},
): LintFinding[] {
  const only = options.versions === undefined ? undefined : new Set(options.versions);
  const findings: LintFinding[] = [];
  for (const migration of migrations) {
    if (only !== undefined && !only.has(migration.version)) continue;
    const script = migration.up;
    const createdTables = new Set<string>();
    let lockTimeoutSet = false;
    script.statements.forEach((statement, statementIndex) => {
      const parsed = parseStatement(statement);
      const context: RuleContext = {
        createdTables,
        lockTimeoutSet,
        transactional: script.transactional,
        statementCount: script.statements.length,
        statementIndex,
      };
      for (const rule of LINT_RULES) {
        for (const hit of rule.check(parsed, context)) {
          const finding: LintFinding = {
            rule: rule.id,
            severity: rule.severity,
            version: migration.version,
            file: script.file,
            line: lineAt(script.sql, statement.offset + hit.index),
            message: hit.message,
          };
          const override = script.lintOverrides.find((o) => o.rule === rule.id);
          if (override !== undefined) finding.overriddenBy = override;
          findings.push(finding);
        }
      }
      if (parsed.kind === "create_table" && parsed.table !== undefined) {
        createdTables.add(parsed.table);
      }
      if (parsed.kind === "set_lock_timeout") lockTimeoutSet = true;
    });
  }
  return findings;
}

/**
 * Whether a finding blocks a migration where risky DDL is refused (production): an
 * `error` with no reviewed override.
 *
 * @param finding The finding.
 * @returns True when it blocks.
 *
 * @example
 * ```ts
 * import { isBlocking } from "./lint.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isBlocking({ rule: "drop-column", severity: "error", version: 1, file: "f", line: 1, message: "m" }), true);
 * ```
 */
export function isBlocking(finding: LintFinding): boolean {
  return finding.severity === "error" && finding.overriddenBy === undefined;
}

/**
 * Formats a finding as one line: `file:line: severity rule: message [overridden ...]`.
 *
 * @param finding The finding.
 * @returns The line.
 *
 * @example
 * ```ts
 * import { formatFinding } from "./lint.ts";
 * import assert from "node:assert/strict";
 * assert.equal(
 *   formatFinding({ rule: "rename", severity: "error", version: 1, file: "a.sql", line: 2, message: "m" }),
 *   "a.sql:2: error rename: m",
 * );
 * ```
 */
export function formatFinding(finding: LintFinding): string {
  const base =
    `${finding.file}:${finding.line}: ${finding.severity} ${finding.rule}: ${finding.message}`;
  const o = finding.overriddenBy;
  return o === undefined
    ? base
    : `${base} [overridden: reason="${o.reason}" reviewed-by="${o.reviewedBy}"]`;
}
