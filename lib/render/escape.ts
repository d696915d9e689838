/**
 * Escaping for what the renderers write: everything from a report is data, never markup.
 * Text in HTML ({@linkcode escapeHtml}), JSON inside a `<script>` element
 * ({@linkcode scriptJson}: no `</script>` can close it), text in Markdown
 * ({@linkcode escapeMarkdown}: no markup, no HTML, no `@mention`, one table cell), and a
 * fenced code block that its content cannot close ({@linkcode fenced}).
 * @module
 */

const HTML: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML: element content and quoted attribute values alike.
 *
 * @param text Any text.
 * @returns The text with `& < > " '` as character references.
 *
 * @example
 * ```ts
 * import { escapeHtml } from "./escape.ts";
 * console.assert(escapeHtml('</script><a href="x">') === "&lt;/script&gt;&lt;a href=&quot;x&quot;&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML[c]!);
}

/**
 * JSON for a `<script type="application/json">` element: `<`, `>` and `&` as `\u` escapes
 * (so no `</script>` or `<!--` can appear), and the two line separators JavaScript once
 * refused in strings. `JSON.parse` of the element's text gives the value back.
 *
 * @param value A JSON value.
 * @returns Its JSON, safe inside a script element.
 *
 * @example
 * ```ts
 * import { scriptJson } from "./escape.ts";
 * const json = scriptJson({ name: "</script><script>" });
 * console.assert(!json.includes("<"));
 * console.assert(JSON.parse(json).name === "</script><script>");
 * ```
 */
export function scriptJson(value: unknown): string {
  return (JSON.stringify(value) ?? "null").replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * Escapes text for Markdown (GitHub's): HTML's specials as character references, the
 * characters that make emphasis, links, code, tables or headings backslash-escaped, `@` as a
 * reference (no one is mentioned by a report), and line breaks as spaces (it fits one table
 * cell or one line).
 *
 * @param text Any text.
 * @returns Text that renders as itself.
 *
 * @example
 * ```ts
 * import { escapeMarkdown } from "./escape.ts";
 * console.assert(escapeMarkdown("a|b *c* @team <b>") === "a\\|b \\*c\\* &#64;team &lt;b&gt;");
 * ```
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[&<>]/g, (c) => HTML[c]!)
    .replace(/[\\`*_[\]{}()#+!|~]/g, (c) => `\\${c}`)
    .replace(/@/g, "&#64;")
    .replace(/\r\n|\r|\n/g, " ");
}

/**
 * A fenced code block whose fence is longer than any run of backticks in its content, so
 * the content cannot end it.
 *
 * @param content The block's text.
 * @param info The info string (a language), e.g. `json`.
 * @returns The block, ending with a newline.
 *
 * @example
 * ```ts
 * import { fenced } from "./escape.ts";
 * const three = "`".repeat(3);
 * const four = "`".repeat(4);
 * console.assert(fenced(`a ${three} b`, "text") === `${four}text\na ${three} b\n${four}\n`);
 * ```
 */
export function fenced(content: string, info = ""): string {
  const longest = Math.max(0, ...[...content.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${content}${content.endsWith("\n") ? "" : "\n"}${fence}\n`;
}
