/**
 * An example pipeline that runs anywhere (no cluster, no database): pre-flight checks
 * in parallel, the production confirmation, one permissioned stage per service
 * rendering its manifest, a summary, and failure/finally handlers. It shows the shape
 * of `pipelines/deploy.ts` without touching anything.
 * @module
 */
import { type Check, pipeline, stage } from "../mod.ts";

const MAX_REPLICAS_PER_SERVICE = 20;

function replicaBudget(replicas: Readonly<Record<string, number>>): Check {
  return {
    name: "replica budget",
    run: () => {
      const over = Object.entries(replicas).filter(([, n]) => n > MAX_REPLICAS_PER_SERVICE);
      return {
        ok: over.length === 0,
        message: over.length === 0
          ? `${Object.keys(replicas).length} services, ${
            Object.values(replicas).reduce((a, b) => a + b, 0)
          } replicas in all`
          : `over ${MAX_REPLICAS_PER_SERVICE} replicas: ${over.map(([s]) => s).join(", ")}`,
        evidence: { replicas: { ...replicas }, limit: MAX_REPLICAS_PER_SERVICE },
      };
    },
  };
}

function resourcesSane(requests: { cpu: string; memory: string }, limits: typeof requests): Check {
  return {
    name: "requests within limits",
    required: false,
    run: () => ({
      ok: true,
      message: `requests ${requests.cpu}/${requests.memory}, limits ${limits.cpu}/${limits.memory}`,
      evidence: { requests: { ...requests }, limits: { ...limits } },
    }),
  };
}

export default pipeline("example", ({ env, version }) => {
  const tag = version?.version ?? "0.0.0";
  const preflight = stage("preflight")
    .describe("checks that need nothing but the environment file")
    .check(
      replicaBudget(env.infrastructure.replicas),
      resourcesSane(env.infrastructure.resources.requests, env.infrastructure.resources.limits),
    );
  const confirm = stage("confirm").needs(preflight)
    .when(env.name === "production", "only production needs a typed confirmation")
    .approval({
      phrase: "DEPLOY TO PRODUCTION",
      message: `Deploying v${tag} to ${env.environment.namespace}.`,
    });
  const render = Object.entries(env.infrastructure.replicas).map(([service, replicas]) =>
    stage(`render:${service}`).needs(confirm).timeout("30s").run((ctx) => {
      const manifest = {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: {
          name: `${service}-green`,
          namespace: env.environment.namespace,
          labels: { app: "tracktion", service, slot: "green", version: tag },
        },
        spec: { replicas },
      };
      ctx.log(`rendered ${manifest.metadata.name} with ${replicas} replicas`);
      return { name: manifest.metadata.name, replicas };
    })
  );
  const summary = stage("summary").needs(...render).run((ctx) => {
    const all = render.map((s) => ctx.output(s));
    ctx.log(`would deploy ${all.map((d) => `${d.name}×${d.replicas}`).join(", ")}`);
    return { deployments: all.length };
  });
  const onFailure = stage("explain-failure").onFailure().run((ctx) => {
    for (const f of ctx.failures) ctx.warn(`${f.stage} failed: ${f.message}`);
  });
  const done = stage("done").finally().run((ctx) =>
    ctx.log(ctx.failures.length === 0 ? "all stages passed" : "finished with failures")
  );
  return [preflight, confirm, ...render, summary, onFailure, done];
});
