/**
 * A STAND-IN for GitHub's REST API (GitHub itself cannot be reached from here).
 *
 * It answers with GitHub's real recorded responses from `@octokit/fixtures` where
 * they exist (repos/get from "get-repository", a release from "release-assets",
 * the 422 body from "errors") and otherwise with the examples of GitHub's official
 * OpenAPI description (`@octokit/openapi`). Every request the code makes is checked
 * against that description (the path template exists, the body has the required
 * fields and valid enums) and every answer is validated against the operation's
 * response schema; problems are collected in `violations`, which tests assert empty.
 *
 * Use `fetch` with Octokit's `request: { fetch }`, or `serve()` for real HTTP on
 * 127.0.0.1 (for the command-line tests).
 */
import getRepository from "@octokit/fixtures/scenarios/api.github.com/get-repository/normalized-fixture.json" with {
  type: "json",
};
import releaseAssets from "@octokit/fixtures/scenarios/api.github.com/release-assets/normalized-fixture.json" with {
  type: "json",
};
import errorsScenario from "@octokit/fixtures/scenarios/api.github.com/errors/normalized-fixture.json" with {
  type: "json",
};
import {
  checkRequestBody,
  checkResponseBody,
  example,
  findOperation,
  loadGitHubOpenApi,
  type OpenApi,
} from "./_openapi.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

/** A request the code under test made. */
export interface RecordedRequest {
  method: string;
  path: string;
  operationId: string | undefined;
  body: Json;
}

/** Options for {@linkcode GitHubStandIn.create}. */
export interface StandInOptions {
  /** The token the stand-in accepts (`Authorization: token <t>`); others get 401. */
  token: string;
  /** Whether the token may push (repos/get `permissions.push`), default true. */
  push?: boolean;
}

/** GitHub's recorded answer to repos/get (@octokit/fixtures "get-repository"). */
export const RECORDED_REPO = getRepository[0]!.response as Json;
const RECORDED_RELEASE = releaseAssets[0]!.response as Json;
const RECORDED_422 = errorsScenario[0]!.response as Json;

/** The stand-in. See the module docs. */
export class GitHubStandIn {
  /** Every request, in order. */
  readonly requests: RecordedRequest[] = [];
  /** Requests or answers that do not match GitHub's description. */
  readonly violations: string[] = [];
  /** Releases by tag. */
  readonly releases = new Map<string, Json>();
  /** Deployments by id, with their statuses. */
  readonly deployments = new Map<number, { deployment: Json; statuses: Json[] }>();
  /** When true, `fetch` fails as it does when the network is down. */
  networkDown = false;
  #api: OpenApi;
  #options: StandInOptions;
  #faults = new Map<string, { status: number; body: Json }[]>();
  #nextId = 1000;

  private constructor(api: OpenApi, options: StandInOptions) {
    this.#api = api;
    this.#options = options;
  }

  /** Loads GitHub's description (once per test file) and creates a stand-in. */
  static async create(options: StandInOptions): Promise<GitHubStandIn> {
    return new GitHubStandIn(await loadGitHubOpenApi(), options);
  }

  /** Makes the next call of an operation answer `status` (401, 403, 422, 500...). */
  failNext(operationId: string, status: number): void {
    const body = status === 422 ? structuredClone(RECORDED_422) : status === 401
      ? {
        message: "Bad credentials",
        documentation_url: "https://docs.github.com/rest",
        status: "401",
      }
      : status === 403
      ? {
        message: "Resource not accessible by personal access token",
        documentation_url: "https://docs.github.com/rest",
        status: "403",
      }
      : { message: "Server Error" };
    const list = this.#faults.get(operationId) ?? [];
    list.push({ status, body });
    this.#faults.set(operationId, list);
  }

  /** The operation ids called, in order. */
  get calls(): string[] {
    return this.requests.map((r) => r.operationId ?? `${r.method} ${r.path}`);
  }

  /** A fetch for Octokit's `request: { fetch }`. */
  readonly fetch: typeof fetch = (input, init) => {
    if (this.networkDown) {
      return Promise.reject(
        new TypeError(
          "error sending request for url (https://api.github.com/): client error (Connect)",
          {
            cause: new Error("dns error: failed to lookup address information"),
          },
        ),
      );
    }
    return this.handle(new Request(input, init));
  };

  /** Serves the stand-in over HTTP on 127.0.0.1; close the returned server. */
  serve(): Deno.HttpServer<Deno.NetAddr> {
    return Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => this.handle(request),
    );
  }

  /** Answers one request. */
  async handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname.replace(/^\/api\/v3(?=\/)/, "");
    const text = await request.text();
    let body: Json;
    try {
      body = text === "" ? undefined : JSON.parse(text);
    } catch {
      this.violations.push(`${request.method} ${path}: body is not JSON`);
    }
    const operation = findOperation(this.#api, request.method, path);
    this.requests.push({ method: request.method, path, operationId: operation?.operationId, body });
    if (!operation) {
      this.violations.push(`${request.method} ${path}: no such operation in GitHub's description`);
      return this.#json(404, {
        message: "Not Found",
        documentation_url: "https://docs.github.com/rest",
      });
    }
    this.violations.push(...checkRequestBody(this.#api, operation, body));
    const fault = this.#faults.get(operation.operationId)?.shift();
    const [status, answer] = fault
      ? [fault.status, fault.body]
      : this.#answer(operation.operationId, operation.params, body, request);
    this.violations.push(...checkResponseBody(this.#api, operation, status, answer));
    return this.#json(status, answer);
  }

  #json(status: number, body: Json): Response {
    return new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: {
        "content-type": "application/json; charset=utf-8",
        "x-github-request-id": "0000:00000:0000000:0000000:00000000",
      },
    });
  }

  #answer(
    id: string,
    params: Record<string, string>,
    body: Json,
    request: Request,
  ): [number, Json] {
    const auth = request.headers.get("authorization") ?? "";
    if (auth !== `token ${this.#options.token}` && auth !== `Bearer ${this.#options.token}`) {
      return [401, {
        message: "Bad credentials",
        documentation_url: "https://docs.github.com/rest",
        status: "401",
      }];
    }
    const { owner = "", repo = "" } = params;
    const notFound = {
      message: "Not Found",
      documentation_url: "https://docs.github.com/rest",
      status: "404",
    };
    switch (id) {
      case "repos/get": {
        const data = structuredClone(RECORDED_REPO);
        // The recording predates `has_discussions`, which the current description
        // requires (github_standin_test.ts shows the validator catching it).
        Object.assign(data, { name: repo, full_name: `${owner}/${repo}`, has_discussions: false });
        data.owner.login = owner;
        data.permissions.push = this.#options.push ?? true;
        return [200, data];
      }
      case "repos/get-release-by-tag": {
        const found = this.releases.get(params.tag ?? "");
        return found ? [200, found] : [404, notFound];
      }
      case "repos/create-release": {
        if (this.releases.has(body.tag_name)) {
          return [422, {
            message: "Validation Failed",
            errors: [{ resource: "Release", code: "already_exists", field: "tag_name" }],
            documentation_url: "https://docs.github.com/rest/releases/releases#create-a-release",
            status: "422",
          }];
        }
        const release = structuredClone(RECORDED_RELEASE);
        const releaseId = this.#nextId++;
        Object.assign(release, {
          id: releaseId,
          url: `https://api.github.com/repos/${owner}/${repo}/releases/${releaseId}`,
          html_url: `https://github.com/${owner}/${repo}/releases/tag/${body.tag_name}`,
          tag_name: body.tag_name,
          name: body.name ?? null,
          body: body.body ?? null,
          draft: body.draft ?? false,
          prerelease: body.prerelease ?? false,
        });
        this.releases.set(body.tag_name, release);
        return [201, release];
      }
      case "repos/update-release": {
        const release = [...this.releases.values()].find((r) => String(r.id) === params.release_id);
        if (!release) return [404, notFound];
        for (const key of ["name", "body", "prerelease", "draft"]) {
          if (body && key in body) release[key] = body[key];
        }
        return [200, release];
      }
      case "repos/create-deployment": {
        const deployment = example(this.#api, "deployment");
        const deploymentId = this.#nextId++;
        Object.assign(deployment, {
          id: deploymentId,
          url: `https://api.github.com/repos/${owner}/${repo}/deployments/${deploymentId}`,
          ref: body.ref,
          environment: body.environment ?? "production",
          description: body.description ?? "",
          payload: body.payload ?? {},
          production_environment: body.production_environment ?? false,
        });
        this.deployments.set(deploymentId, { deployment, statuses: [] });
        return [201, deployment];
      }
      case "repos/create-deployment-status": {
        const entry = this.deployments.get(Number(params.deployment_id));
        if (!entry) return [404, notFound];
        const status = example(this.#api, "deployment-status");
        Object.assign(status, {
          id: this.#nextId++,
          state: body.state,
          description: body.description ?? "",
          environment: body.environment ?? entry.deployment.environment,
          log_url: body.log_url ?? "",
          target_url: body.log_url ?? body.target_url ?? "",
          environment_url: body.environment_url ?? "",
          deployment_url: entry.deployment.url,
        });
        entry.statuses.push(status);
        return [201, status];
      }
      default:
        return [404, notFound];
    }
  }
}
