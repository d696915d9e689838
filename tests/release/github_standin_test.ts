/** The GitHub stand-in's own checks: it must catch what GitHub would reject. */
import assert from "node:assert/strict";
import {
  checkRequestBody,
  checkResponseBody,
  findOperation,
  loadGitHubOpenApi,
} from "./_openapi.ts";
import { GitHubStandIn, RECORDED_REPO } from "./_github_standin.ts";

const api = await loadGitHubOpenApi();

Deno.test("findOperation() maps requests to GitHub's operations and path parameters", () => {
  const op = findOperation(api, "GET", "/repos/o/r/releases/tags/v1.2.3");
  assert.equal(op?.operationId, "repos/get-release-by-tag");
  assert.deepEqual(op?.params, { owner: "o", repo: "r", tag: "v1.2.3" });
  assert.equal(
    findOperation(api, "GET", "/repos/o/r/releases/latest")?.operationId,
    "repos/get-latest-release",
  );
  assert.equal(findOperation(api, "POST", "/repos/o/r/releasez"), undefined);
});

Deno.test("checkRequestBody() reports missing required fields, bad enums and wrong types", () => {
  const status = findOperation(api, "POST", "/repos/o/r/deployments/1/statuses")!;
  assert.deepEqual(checkRequestBody(api, status, { state: "in_progress" }), []);
  assert.match(
    checkRequestBody(api, status, { state: "running" }).join("\n"),
    /"running" is not one of/,
  );
  assert.match(checkRequestBody(api, status, {}).join("\n"), /missing required property "state"/);
  const deploy = findOperation(api, "POST", "/repos/o/r/deployments")!;
  assert.match(
    checkRequestBody(api, deploy, { ref: "v1", auto_merge: "no" }).join("\n"),
    /\.auto_merge: expected boolean, got string/,
  );
  assert.match(checkRequestBody(api, deploy, undefined).join("\n"), /body is required/);
});

Deno.test("checkResponseBody() validates answers, and catches the recording's missing field", () => {
  const get = findOperation(api, "GET", "/repos/o/r")!;
  assert.deepEqual(checkResponseBody(api, get, 200, RECORDED_REPO), [
    'GET /repos/{owner}/{repo} 200 response: missing required property "has_discussions"',
  ]);
  assert.deepEqual(
    checkResponseBody(api, get, 200, { ...RECORDED_REPO, has_discussions: false }),
    [],
  );
  assert.deepEqual(checkResponseBody(api, get, 401, { message: "Bad credentials" }), []);
  assert.match(checkResponseBody(api, get, 200, { id: "x" }).join("\n"), /\.id: expected integer/);
  assert.match(checkResponseBody(api, get, 418, {}).join("\n"), /status 418 is not described/);
});

Deno.test("GitHubStandIn records requests to unknown paths as violations", async () => {
  const github = await GitHubStandIn.create({ token: "t" });
  const response = await github.fetch("https://api.github.com/repos/o/r/nonsense", {
    method: "POST",
    headers: { authorization: "token t" },
    body: "{}",
  });
  assert.equal(response.status, 404);
  await response.body?.cancel();
  assert.deepEqual(github.violations, [
    "POST /repos/o/r/nonsense: no such operation in GitHub's description",
  ]);
});
