/**
 * A FAKE GitHub for tests: the STAND-IN of tests/release (GitHub's recorded and
 * OpenAPI-checked answers) on a port, behind a front that injects faults into chosen
 * requests — a 503, a secondary rate limit (403 + Retry-After), a 422, or a POST that is
 * never answered (held until the fake closes).
 * @module
 */
import { GitHubStandIn } from "../release/_github_standin.ts";

/** A fault the front injects into one request. */
export type Fault = "503" | "secondary-limit" | "422" | "hang";

/**
 * The stand-in on 127.0.0.1, with faults per operation (`deployment`: creating one,
 * `status`: posting a status), taken in order, one a request.
 *
 * @param token The token the stand-in accepts.
 */
export async function fakeGitHub(token: string) {
  const standIn = await GitHubStandIn.create({ token });
  const faults: Record<"deployment" | "status", Fault[]> = { deployment: [], status: [] };
  const hits = { deployment: 0, status: 0 };
  const held: (() => void)[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const op = /\/deployments\/\d+\/statuses$/.test(path)
      ? "status"
      : /\/deployments$/.test(path)
      ? "deployment"
      : undefined;
    if (op && req.method === "POST") {
      hits[op]++;
      const fault = faults[op].shift();
      if (fault === "hang") {
        await req.text();
        await new Promise<void>((resolve) => held.push(resolve));
        return new Response("too late", { status: 504 });
      }
      if (fault === "503") return Response.json({ message: "Server Error" }, { status: 503 });
      if (fault === "secondary-limit") {
        return Response.json({
          message: "You have exceeded a secondary rate limit. Please wait a few minutes.",
          documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
        }, { status: 403, headers: { "retry-after": "2" } });
      }
      if (fault === "422") standIn.failNext("repos/create-deployment-status", 422);
    }
    return await standIn.handle(req);
  });
  return {
    standIn,
    faults,
    hits,
    url: `http://127.0.0.1:${server.addr.port}`,
    /** The states GitHub holds for the (only) deployment. */
    states: () => [...standIn.deployments.values()].map((d) => d.statuses.map((s) => s.state)),
    async close() {
      for (const release of held) release();
      await server.shutdown();
    },
  };
}
