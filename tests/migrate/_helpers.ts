/**
 * Test helpers: temporary migration folders and the path of Tracktion's migrations.
 * @module
 */

/** Absolute path of the repository's `migrations/` folder. */
export const TRACKTION_MIGRATIONS: string = new URL("../../migrations", import.meta.url).pathname;

/** Absolute path of the repository root. */
export const REPO_ROOT: string = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/**
 * Writes migration files into a new temporary folder.
 *
 * @param files File name → content.
 * @returns The folder; remove it with `Deno.remove(dir, { recursive: true })`.
 */
export async function writeMigrations(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tracktion-migrations-" });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  return dir;
}

/**
 * Runs `fn` with a temporary migrations folder, removing it afterwards.
 *
 * @param files File name → content.
 * @param fn The work.
 */
export async function withMigrationsDir<T>(
  files: Record<string, string>,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = await writeMigrations(files);
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A small valid pair of migrations used by many cases. */
export const TWO_TABLES: Record<string, string> = {
  "0001_create_a.up.sql": "CREATE TABLE a (id int PRIMARY KEY);\n",
  "0001_create_a.down.sql": "DROP TABLE a;\n",
  "0002_create_b.up.sql": "CREATE TABLE b (id int PRIMARY KEY);\nINSERT INTO b VALUES (1);\n",
  "0002_create_b.down.sql": "DROP TABLE b;\n",
};
