import assert from "node:assert/strict";
import {
  deploymentInfoManifest,
  deploymentManifest,
  httpRouteManifest,
  serviceManifest,
  slotServiceManifest,
} from "../../lib/kubernetes/manifests.ts";
import { bareVersion, checkWeights, otherSlot } from "../../lib/kubernetes/slots.ts";
import { servicesOf } from "../../lib/kubernetes/target.ts";
import { appName, kubeTarget } from "../../lib/targets/kube_target.ts";
import { environment, targetOf } from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

Deno.test("deploymentManifest() builds <service>-<slot> from the environment", async () => {
  const target = await targetOf("production");
  const d = deploymentManifest(target, {
    service: "analysis-service",
    slot: "green",
    version: "v1.2.4",
  }) as Json;
  assert.equal(d.apiVersion, "apps/v1");
  assert.equal(d.metadata.name, "analysis-service-green");
  assert.equal(d.metadata.namespace, "tracktion-prod");
  const labels = {
    app: "tracktion",
    service: "analysis-service",
    slot: "green",
    version: "1.2.4",
    environment: "production",
  };
  assert.deepEqual(d.metadata.labels, labels);
  assert.deepEqual(d.spec.template.metadata.labels, labels);
  assert.deepEqual(d.spec.selector.matchLabels, {
    app: "tracktion",
    service: "analysis-service",
    slot: "green",
  });
  assert.equal(d.spec.replicas, 5);
  assert.equal(d.spec.progressDeadlineSeconds, 600);
  assert.deepEqual(d.spec.strategy, {
    type: "RollingUpdate",
    rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" },
  });
  const c = d.spec.template.spec.containers[0];
  assert.equal(c.image, "ghcr.io/tracktion/analysis-service:1.2.4");
  assert.deepEqual(c.resources, {
    limits: { cpu: "2000m", memory: "2Gi" },
    requests: { cpu: "1000m", memory: "1Gi" },
  });
  assert.deepEqual(c.readinessProbe.httpGet, { path: "/health", port: 8000 });
  assert.deepEqual(c.livenessProbe.httpGet, { path: "/health", port: 8000 });
  assert.equal(c.ports[0].containerPort, 8000);
});

Deno.test("deploymentManifest() takes names and sizes from each environment", async () => {
  const dev = await environment("development");
  const staging = await environment("staging");
  for (const env of [dev, staging]) {
    for (const service of servicesOf(kubeTarget(env))) {
      const d = deploymentManifest(kubeTarget(env), {
        service,
        slot: "blue",
        version: "2.0.0",
      }) as Json;
      assert.equal(d.metadata.namespace, env.environment.namespace);
      assert.equal(d.spec.replicas, env.infrastructure.replicas[service]);
      assert.equal(
        d.spec.template.spec.containers[0].image,
        `${env.deployment.image_registry}/${service}:2.0.0`,
      );
      assert.equal(
        d.spec.progressDeadlineSeconds,
        Math.ceil(env.deployment.rollout_deadline.ms / 1000),
      );
    }
  }
  const d = deploymentManifest(kubeTarget(dev, { app: "other-app" }), {
    service: "file-watcher",
    slot: "blue",
    version: "1.0.0",
  }) as Json;
  assert.equal(d.metadata.labels.app, "other-app");
});

Deno.test("deploymentManifest() rejects an unknown service and a bad version", async () => {
  const target = await targetOf("staging");
  assert.throws(
    () => deploymentManifest(target, { service: "billing", slot: "blue", version: "1.0.0" }),
    /Cannot generate manifests for service "billing": environment "staging" has no such service: its services are analysis-service, /,
  );
  assert.throws(
    () =>
      deploymentManifest(target, { service: "file-watcher", slot: "blue", version: "1.0 beta" }),
    TypeError,
  );
});

Deno.test("serviceManifest() selects app, service and the live slot", async () => {
  const target = await targetOf("production");
  const s = serviceManifest(target, { service: "file-watcher", slot: "blue" }) as Json;
  assert.equal(s.metadata.name, "file-watcher");
  assert.deepEqual(s.spec.selector, { app: "tracktion", service: "file-watcher", slot: "blue" });
  assert.deepEqual(s.spec.ports[0], {
    name: "http",
    port: 8000,
    targetPort: 8000,
    protocol: "TCP",
  });
  const green = slotServiceManifest(target, { service: "file-watcher", slot: "green" }) as Json;
  assert.equal(green.metadata.name, "file-watcher-green");
  assert.deepEqual(green.spec.selector, {
    app: "tracktion",
    service: "file-watcher",
    slot: "green",
  });
});

Deno.test("httpRouteManifest() weighs the two slot Services", async () => {
  const target = await targetOf("production");
  const r = httpRouteManifest(target, {
    service: "tracklist-service",
    weights: { blue: 95, green: 5 },
  }) as Json;
  assert.equal(r.apiVersion, "gateway.networking.k8s.io/v1");
  assert.equal(r.kind, "HTTPRoute");
  assert.equal(r.metadata.name, "tracklist-service");
  assert.equal(r.spec.parentRefs[0].name, "tracktion");
  assert.deepEqual(
    r.spec.rules[0].backendRefs.map((b: Json) => [b.name, b.port, b.weight]),
    [["tracklist-service-blue", 8000, 95], ["tracklist-service-green", 8000, 5]],
  );
  const custom = httpRouteManifest({
    ...target,
    gateway: { name: "edge", namespace: "gateways" },
  }, {
    service: "tracklist-service",
    weights: { blue: 0, green: 100 },
  }) as Json;
  assert.deepEqual(custom.spec.parentRefs[0], {
    group: "gateway.networking.k8s.io",
    kind: "Gateway",
    name: "edge",
    namespace: "gateways",
  });
});

Deno.test("checkWeights() rejects negative, fractional and all-zero weights", () => {
  assert.throws(() => checkWeights({ blue: -1, green: 100 }), /blue=-1: must be an integer/);
  assert.throws(() => checkWeights({ blue: 50, green: 0.5 }), /green=0.5/);
  assert.throws(() => checkWeights({ blue: 0, green: 0 }), /no slot would get traffic/);
  checkWeights({ blue: 0, green: 1 });
});

Deno.test("deploymentInfoManifest() records version, slots, time and run id", async () => {
  const target = await targetOf("staging");
  const cm = deploymentInfoManifest(target, {
    version: "v1.2.4",
    runId: "20260101-abcdef",
    slots: { "analysis-service": "green", "file-watcher": "blue" },
    time: "2026-01-01T00:00:00.000Z",
    deployedBy: "alice",
  }) as Json;
  assert.equal(cm.metadata.name, "deployment-info");
  assert.equal(cm.metadata.namespace, "tracktion-staging");
  assert.deepEqual(cm.data, {
    version: "1.2.4",
    environment: "staging",
    run_id: "20260101-abcdef",
    deployed_at: "2026-01-01T00:00:00.000Z",
    strategy: "blue-green",
    status: "success",
    deployed_by: "alice",
    "slot.analysis-service": "green",
    "slot.file-watcher": "blue",
  });
});

Deno.test("otherSlot(), bareVersion() and appName() are small and exact", async () => {
  assert.equal(otherSlot("green"), "blue");
  assert.equal(bareVersion("1.2.4-rc.1"), "1.2.4-rc.1");
  assert.equal(appName(await environment("production")), "tracktion");
});

Deno.test("kubeTarget() narrows an environment to what the Kubernetes layer reads", async () => {
  const env = await environment("production");
  const target = kubeTarget(env);
  assert.equal(target.name, "production");
  assert.equal(target.namespace, env.environment.namespace);
  assert.equal(target.app, "tracktion");
  assert.deepEqual(
    Object.entries(target.services).map(([s, { replicas }]) => [s, replicas]),
    Object.entries(env.infrastructure.replicas),
  );
  assert.equal(target.strategy, env.deployment.strategy);
  assert.equal(target.imageRegistry, env.deployment.image_registry);
  assert.deepEqual(target.resources, env.infrastructure.resources);
  assert.equal(target.logLevel, env.infrastructure.monitoring.log_level);
  assert.equal(target.rolloutDeadlineMs, env.deployment.rollout_deadline.ms);
  assert.deepEqual(target.healthCheck, {
    retries: env.deployment.health_check.retries,
    intervalMs: env.deployment.health_check.interval.ms,
    timeoutMs: env.deployment.health_check.timeout.ms,
  });
  assert.equal(target.rollbackWindowMs, env.deployment.rollback_window.ms);
  assert.equal(target.gateway, undefined);
  const other = kubeTarget(env, { app: "shop", gateway: { name: "edge" } });
  assert.deepEqual([other.app, other.gateway], ["shop", { name: "edge" }]);
});

Deno.test("manifests take every name from the target, with no environment at all", () => {
  const target = {
    name: "qa",
    namespace: "shop-qa",
    app: "shop",
    services: { web: { replicas: 3 }, api: { replicas: 1 } },
    strategy: "rolling",
    imageRegistry: "registry.example/shop",
    resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "100m", memory: "128Mi" } },
    logLevel: "DEBUG",
    rolloutDeadlineMs: 90_500,
    healthCheck: { retries: 3, intervalMs: 1_000, timeoutMs: 500 },
    rollbackWindowMs: 3_600_000,
  } as const;
  const d = deploymentManifest(target, { service: "api", slot: "green", version: "2.0.0" }) as Json;
  assert.equal(d.metadata.name, "api-green");
  assert.equal(d.metadata.namespace, "shop-qa");
  assert.equal(d.metadata.labels.app, "shop");
  assert.equal(d.metadata.labels.environment, "qa");
  assert.equal(d.spec.replicas, 1);
  assert.equal(d.spec.progressDeadlineSeconds, 91);
  const c = d.spec.template.spec.containers[0];
  assert.equal(c.image, "registry.example/shop/api:2.0.0");
  assert.deepEqual(c.env.find((e: Json) => e.name === "LOG_LEVEL"), {
    name: "LOG_LEVEL",
    value: "DEBUG",
  });
  assert.equal(
    (httpRouteManifest(target, { service: "web", weights: { blue: 1, green: 0 } }) as Json)
      .spec.parentRefs[0].name,
    "shop",
    "the default Gateway is named after the app",
  );
  assert.equal(
    (deploymentInfoManifest(target, {
      version: "2.0.0",
      runId: "r",
      slots: { web: "blue" },
    }) as Json).data.strategy,
    "rolling",
  );
  assert.throws(
    () => serviceManifest(target, { service: "db", slot: "blue" }),
    /Cannot generate manifests for service "db": environment "qa" has no such service: its services are web, api/,
  );
  assert.throws(
    () => serviceManifest(target, { service: "toString", slot: "blue" }),
    RangeError,
    "inherited properties are not services",
  );
});
