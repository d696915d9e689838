/**
 * Container registries as the build pipeline meets them: the credentials of a registry that
 * needs a login (a secret reference holding `<user>:<password>`), and a `fetch` that answers
 * the distribution spec's Basic and Bearer challenges with them.
 *
 * @example
 * ```ts
 * import { parseCredentials } from "./mod.ts";
 * console.assert(parseCredentials("ci:pw", "env REG").username === "ci");
 * ```
 * @module
 */
export * from "./auth.ts";
