/**
 * The risky-DDL rules. Each looks at one statement of an up script, knowing which
 * tables the same script created (a new, empty table is never risky to lock).
 * @module
 */

import type { SqlStatement } from "./sql_split.ts";
import { MIGRATION_DIRECTIVE } from "../product/mod.ts";

/** How bad a finding is: an `error` blocks production unless overridden. */
export type LintSeverity = "error" | "warning";

/** What a rule knows about the script around the statement it checks. */
export interface RuleContext {
  /** Tables created earlier in the same script (lowercase, unqualified). */
  createdTables: ReadonlySet<string>;
  /** Whether a `SET lock_timeout` ran earlier in the same script. */
  lockTimeoutSet: boolean;
  /** Whether the script runs in a transaction. */
  transactional: boolean;
  /** Number of statements in the script. */
  statementCount: number;
  /** 0-based index of the statement being checked. */
  statementIndex: number;
}

/** A rule's raw hit: where in the statement, and what to say. */
export interface RuleHit {
  /** Index within the statement's text. */
  index: number;
  /** The message. */
  message: string;
}

/** A lint rule. */
export interface LintRule {
  /** Stable id, used in `-- <directive>:lint-ignore <id>`. */
  id: string;
  /** Default severity. */
  severity: LintSeverity;
  /** One line on what it catches and why. */
  description: string;
  /** Returns the hits in one statement. */
  check(statement: ParsedStatement, context: RuleContext): RuleHit[];
}

/** One ALTER TABLE action (`ADD COLUMN ...`), upper-cased masked text. */
export interface AlterAction {
  /** Masked, upper-cased text of the action. */
  text: string;
  /** Index of the action within the statement. */
  index: number;
}

/** What the rules need to know of a statement. */
export interface ParsedStatement {
  /** The statement. */
  statement: SqlStatement;
  /** Masked and upper-cased text. */
  upper: string;
  /** The table it targets (lowercase, unqualified), if it targets one. */
  table: string | undefined;
  /** The kind of statement the rules care about. */
  kind:
    | "create_table"
    | "create_index"
    | "alter_table"
    | "drop_table"
    | "set_lock_timeout"
    | "other";
  /** ALTER TABLE actions. */
  actions: AlterAction[];
}

const NAME = String.raw`((?:"[^"]*"|[A-Z_][A-Z0-9_$]*)(?:\s*\.\s*(?:"[^"]*"|[A-Z_][A-Z0-9_$]*))?)`;
const CREATE_TABLE = new RegExp(
  String
    .raw`^CREATE\s+(?:(?:GLOBAL\s+|LOCAL\s+)?(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?${NAME}`,
  "d",
);
const CREATE_INDEX = new RegExp(
  String
    .raw`^CREATE\s+(?:UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?(?:(?:IF\s+NOT\s+EXISTS\s+)?(?:"[^"]*"|[A-Z_][A-Z0-9_$]*)\s+)?ON\s+(?:ONLY\s+)?${NAME}`,
  "d",
);
const ALTER_TABLE = new RegExp(
  String.raw`^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?${NAME}\s*\*?\s*`,
  "d",
);
const DROP_TABLE = /^DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?/;
const SET_LOCK_TIMEOUT = /^SET\s+(?:LOCAL\s+|SESSION\s+)?LOCK_TIMEOUT\b/;

/**
 * Reads the table name at a match in the original text (quoted names keep their case).
 */
function tableName(statement: SqlStatement, span: [number, number] | undefined): string {
  const raw = span ? statement.text.slice(span[0], span[1]) : "";
  const last = raw.split(/\s*\.\s*(?=(?:[^"]*"[^"]*")*[^"]*$)/).pop() ?? raw;
  return last.startsWith('"') ? last.slice(1, -1) : last.toLowerCase();
}

/**
 * Classifies a statement for the rules.
 *
 * @param statement The statement.
 * @returns Its parsed form.
 */
export function parseStatement(statement: SqlStatement): ParsedStatement {
  const upper = statement.masked.toUpperCase();
  const parsed: ParsedStatement = {
    statement,
    upper,
    table: undefined,
    kind: "other",
    actions: [],
  };
  let match: RegExpExecArray | null;
  if ((match = CREATE_TABLE.exec(upper))) {
    parsed.kind = "create_table";
    parsed.table = tableName(statement, match.indices?.[1]);
  } else if ((match = CREATE_INDEX.exec(upper))) {
    parsed.kind = "create_index";
    parsed.table = tableName(statement, match.indices?.[2]);
  } else if ((match = ALTER_TABLE.exec(upper))) {
    parsed.kind = "alter_table";
    parsed.table = tableName(statement, match.indices?.[1]);
    parsed.actions = splitActions(upper, match[0].length);
  } else if ((match = DROP_TABLE.exec(upper))) {
    parsed.kind = "drop_table";
  } else if (SET_LOCK_TIMEOUT.test(upper)) {
    parsed.kind = "set_lock_timeout";
  }
  return parsed;
}

function splitActions(upper: string, from: number): AlterAction[] {
  const actions: AlterAction[] = [];
  let depth = 0;
  let start = from;
  for (let i = from; i <= upper.length; i++) {
    const c = upper[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if ((c === "," && depth === 0) || i === upper.length) {
      const piece = upper.slice(start, i);
      const lead = piece.search(/\S/);
      if (lead >= 0) actions.push({ text: piece.trim(), index: start + lead });
      start = i + 1;
    }
  }
  return actions;
}

function existing(parsed: ParsedStatement, context: RuleContext): boolean {
  return parsed.table !== undefined && !context.createdTables.has(parsed.table);
}

function eachAction(
  parsed: ParsedStatement,
  context: RuleContext,
  test: RegExp,
  message: (action: AlterAction) => string | undefined,
): RuleHit[] {
  if (parsed.kind !== "alter_table" || !existing(parsed, context)) return [];
  const hits: RuleHit[] = [];
  for (const action of parsed.actions) {
    const match = test.exec(action.text);
    if (!match) continue;
    const text = message(action);
    if (text !== undefined) hits.push({ index: action.index + match.index, message: text });
  }
  return hits;
}

const VOLATILE =
  /\b(RANDOM|GEN_RANDOM_UUID|UUID_GENERATE_V[14]|CLOCK_TIMESTAMP|TIMEOFDAY|NEXTVAL)\s*\(/;

/** Every rule, in report order. */
export const LINT_RULES: readonly LintRule[] = [
  {
    id: "create-index-not-concurrently",
    severity: "error",
    description: "CREATE INDEX on an existing table blocks its writes while the index builds",
    check(parsed, context) {
      if (parsed.kind !== "create_index" || !existing(parsed, context)) return [];
      if (/^CREATE\s+(UNIQUE\s+)?INDEX\s+CONCURRENTLY/.test(parsed.upper)) return [];
      return [{
        index: 0,
        message:
          `CREATE INDEX on existing table ${parsed.table} blocks writes while it builds: use CREATE INDEX CONCURRENTLY in a -- ${MIGRATION_DIRECTIVE}:no-transaction migration`,
      }];
    },
  },
  {
    id: "not-null-without-default",
    severity: "error",
    description: "adding a NOT NULL column without a default fails on a non-empty table",
    check: (parsed, context) =>
      eachAction(
        parsed,
        context,
        /^ADD\s+(?!CONSTRAINT\b|PRIMARY\b|UNIQUE\b|CHECK\b|FOREIGN\b)/,
        (a) =>
          /\bNOT\s+NULL\b/.test(a.text) && !/\b(DEFAULT|GENERATED)\b/.test(a.text)
            ? `Adding a NOT NULL column without a DEFAULT to existing table ${parsed.table} fails when it has rows (and breaks writers of the previous version): add a DEFAULT or add it nullable and backfill`
            : undefined,
      ),
  },
  {
    id: "volatile-default",
    severity: "error",
    description: "a column added with a volatile DEFAULT rewrites the whole table",
    check: (parsed, context) =>
      eachAction(
        parsed,
        context,
        /^ADD\s+(?!CONSTRAINT\b)/,
        (a) =>
          VOLATILE.test(a.text.slice(a.text.search(/\bDEFAULT\b/) + 1 || a.text.length))
            ? `A volatile DEFAULT rewrites existing table ${parsed.table} under an ACCESS EXCLUSIVE lock: add the column without it, then backfill in batches`
            : undefined,
      ),
  },
  {
    id: "drop-column",
    severity: "error",
    description: "dropping a column breaks the version still running and loses data",
    check: (parsed, context) =>
      eachAction(
        parsed,
        context,
        /^DROP\s+(COLUMN\s+)?(?!CONSTRAINT\b)/,
        () =>
          `DROP COLUMN on ${parsed.table} loses its data and breaks the version still serving traffic during a blue-green switch: stop using the column first, drop it in a later release`,
      ),
  },
  {
    id: "drop-table",
    severity: "error",
    description: "dropping a table loses data and breaks the version still running",
    check(parsed, context) {
      if (parsed.kind !== "drop_table") return [];
      const names = parsed.statement.text.replace(/^\s*DROP\s+TABLE\s+(IF\s+EXISTS\s+)?/i, "")
        .replace(/\s+(CASCADE|RESTRICT)\s*$/i, "").split(",").map((n) => n.trim())
        .map((n) => n.startsWith('"') ? n.slice(1, -1) : n.split(".").pop()!.toLowerCase());
      const old = names.filter((n) => !context.createdTables.has(n));
      if (old.length === 0) return [];
      return [{
        index: 0,
        message: `DROP TABLE ${
          old.join(", ")
        } loses data and breaks the version still serving traffic: drop it in a later release, after a backup`,
      }];
    },
  },
  {
    id: "column-type-change",
    severity: "error",
    description: "changing a column's type usually rewrites the table under an exclusive lock",
    check: (parsed, context) =>
      eachAction(
        parsed,
        context,
        /^ALTER\s+(COLUMN\s+)?\S+\s+(SET\s+DATA\s+)?TYPE\b/,
        () =>
          `Changing a column's type on existing table ${parsed.table} can rewrite it under an ACCESS EXCLUSIVE lock: add a new column, backfill, and switch readers`,
      ),
  },
  {
    id: "set-not-null",
    severity: "error",
    description: "SET NOT NULL scans the whole table under an exclusive lock",
    check: (parsed, context) =>
      eachAction(
        parsed,
        context,
        /^ALTER\s+(COLUMN\s+)?\S+\s+SET\s+NOT\s+NULL\b/,
        () =>
          `SET NOT NULL on existing table ${parsed.table} scans it under an ACCESS EXCLUSIVE lock: add a CHECK (...) NOT VALID constraint, VALIDATE it, then SET NOT NULL`,
      ),
  },
  {
    id: "constraint-without-not-valid",
    severity: "error",
    description: "adding a CHECK or FOREIGN KEY constraint validates every row under a lock",
    check: (parsed, context) =>
      eachAction(
        parsed,
        context,
        /^ADD\s+(CONSTRAINT\s+\S+\s+)?(CHECK|FOREIGN\s+KEY)\b/,
        (a) =>
          /\bNOT\s+VALID\b/.test(a.text)
            ? undefined
            : `Adding a constraint to existing table ${parsed.table} checks every row while holding its lock: add it NOT VALID, then VALIDATE CONSTRAINT in a later statement`,
      ),
  },
  {
    id: "add-unique-constraint",
    severity: "error",
    description:
      "adding a PRIMARY KEY or UNIQUE constraint builds an index under an exclusive lock",
    check: (parsed, context) =>
      eachAction(
        parsed,
        context,
        /^ADD\s+(CONSTRAINT\s+\S+\s+)?(UNIQUE|PRIMARY\s+KEY)\b/,
        (a) =>
          /\bUSING\s+INDEX\b/.test(a.text)
            ? undefined
            : `Adding a UNIQUE or PRIMARY KEY constraint to existing table ${parsed.table} builds its index under an ACCESS EXCLUSIVE lock: CREATE UNIQUE INDEX CONCURRENTLY, then ADD CONSTRAINT ... USING INDEX`,
      ),
  },
  {
    id: "rename",
    severity: "error",
    description: "renaming a table or column breaks the version still running",
    check: (parsed, context) =>
      eachAction(
        parsed,
        context,
        /^RENAME\b(?!\s+CONSTRAINT\b)/,
        () =>
          `Renaming on existing table ${parsed.table} breaks the version still serving traffic during a blue-green switch: add the new name, migrate readers, drop the old one later`,
      ),
  },
  {
    id: "missing-lock-timeout",
    severity: "warning",
    description:
      "DDL on an existing table without a lock_timeout can queue behind a long query and block all traffic",
    check(parsed, context) {
      if (context.lockTimeoutSet || !existing(parsed, context)) return [];
      const validateOnly = parsed.actions.length > 0 &&
        parsed.actions.every((a) => /^VALIDATE\s+CONSTRAINT\b/.test(a.text));
      const locking = (parsed.kind === "alter_table" && !validateOnly) ||
        (parsed.kind === "create_index" && !/\bCONCURRENTLY\b/.test(parsed.upper.slice(0, 40)));
      if (!locking) return [];
      return [{
        index: 0,
        message:
          `DDL on existing table ${parsed.table} without SET lock_timeout can wait behind a long query while blocking every other one: SET lock_timeout = '5s' first`,
      }];
    },
  },
  {
    id: "no-transaction-multiple-statements",
    severity: "warning",
    description: "a migration without a transaction should hold a single statement",
    check(_parsed, context) {
      if (context.transactional || context.statementCount < 2) return [];
      if (context.statementIndex !== 0) return [];
      return [{
        index: 0,
        message:
          `This migration runs without a transaction and has ${context.statementCount} statements: a failure leaves the first ones applied; split it so each holds one statement`,
      }];
    },
  },
];

/** Ids of every rule. */
export const LINT_RULE_IDS: readonly string[] = LINT_RULES.map((rule) => rule.id);
