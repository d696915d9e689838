/**
 * An OpenAPI-checked stand-in of GitHub's issues API, for the approval channel's tests: the
 * issue is answered with GitHub's recorded response (@octokit/fixtures
 * "add-labels-to-issue"), comments with the official description's examples, and every
 * request and answer is validated against that description (tests/release/_openapi.ts).
 * `fetch` answers in process; `serve()` puts it on a port for a CLI in another process
 * (`GITHUB_API_URL`).
 * @module
 */
import addLabels from "@octokit/fixtures/scenarios/api.github.com/add-labels-to-issue/normalized-fixture.json" with {
  type: "json",
};
import {
  checkRequestBody,
  checkResponseBody,
  example,
  findOperation,
  type OpenApi,
} from "../release/_openapi.ts";

// deno-lint-ignore no-explicit-any
type Json = any;
const RECORDED_ISSUE = (addLabels[0] as Json).response;
/** The token the stand-in accepts. */
export const TOKEN = "ghs_test";

/** Issues and their comments, answering as GitHub does and checking both ways. */
export class IssuesStandIn {
  readonly violations: string[] = [];
  readonly calls: string[] = [];
  readonly issues = new Map<number, { issue: Json; comments: Json[] }>();
  #next = 5000;
  constructor(readonly api: OpenApi) {}

  comment(issue: number, login: string, body: string, createdAt = new Date().toISOString()) {
    const c = example(this.api, "issue-comment");
    const id = this.#next++;
    Object.assign(c, {
      id,
      body,
      created_at: createdAt,
      updated_at: createdAt,
      html_url: `https://github.com/acme/shop/issues/${issue}#issuecomment-${id}`,
    });
    c.user = { ...c.user, login };
    this.issues.get(issue)!.comments.push(c);
  }

  readonly fetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    const text = await request.text();
    const body = text ? JSON.parse(text) : undefined;
    const op = findOperation(this.api, request.method, path);
    if (!op) {
      this.violations.push(`${request.method} ${path}: not in GitHub's description`);
      return Response.json({ message: "Not Found" }, { status: 404 });
    }
    this.calls.push(op.operationId);
    this.violations.push(...checkRequestBody(this.api, op, body));
    const [status, answer] = request.headers.get("authorization") === `token ${TOKEN}`
      ? this.#answer(op.operationId, op.params, body)
      : [401, { message: "Bad credentials", documentation_url: "https://docs.github.com/rest" }];
    this.violations.push(...checkResponseBody(this.api, op, status, answer));
    return Response.json(answer, { status });
  };

  #answer(id: string, params: Record<string, string>, body: Json): [number, Json] {
    const entry = this.issues.get(Number(params.issue_number));
    switch (id) {
      case "issues/create": {
        const issue = structuredClone(RECORDED_ISSUE);
        const number = this.issues.size + 1;
        Object.assign(issue, {
          number,
          title: body.title,
          body: body.body,
          html_url: `https://github.com/${params.owner}/${params.repo}/issues/${number}`,
        });
        this.issues.set(number, { issue, comments: [] });
        return [201, issue];
      }
      case "issues/list-comments":
        return entry ? [200, entry.comments] : [404, { message: "Not Found" }];
      case "issues/create-comment": {
        if (!entry) return [404, { message: "Not Found" }];
        this.comment(Number(params.issue_number), "deploy-bot", body.body);
        return [201, entry.comments.at(-1)];
      }
      case "issues/update":
        if (!entry) return [404, { message: "Not Found" }];
        Object.assign(entry.issue, { state: body.state, state_reason: body.state_reason });
        return [200, entry.issue];
      default:
        return [404, { message: "Not Found" }];
    }
  }

  /** Serves {@linkcode fetch} on a free port of 127.0.0.1; its URL is GITHUB_API_URL. */
  serve(): { url: string; close: () => Promise<void> } {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (request) => this.fetch(request),
    );
    return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
  }
}
