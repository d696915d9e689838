// Shared paths for the config tests (independent of the working directory).
import { fileURLToPath } from "node:url";
import { isAbsolute, relative } from "node:path";

/** The malformed (and one valid) environment files. */
export const FIXTURES: string = fileURLToPath(new URL("./fixtures", import.meta.url));

/** The real Tracktion environment files. */
export const ENVIRONMENTS: string = fileURLToPath(
  new URL("../../environments", import.meta.url),
);

/** How messages show a file in `dir`: relative to the cwd when inside it. */
export function shown(dir: string, file: string): string {
  const rel = relative(Deno.cwd(), `${dir}/${file}`);
  return rel.startsWith("..") || isAbsolute(rel) ? `${dir}/${file}` : rel;
}
