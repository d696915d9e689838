import type { Api } from "./api.ts";
import { findResource, type KObject, type ResourceType } from "./resources.ts";

/** The namespaces a fresh sandbox has, besides `default`, `kube-system` and `kube-public`. */
export const TRACKTION_NAMESPACES = ["tracktion-dev", "tracktion-staging", "tracktion-prod"];

const SEED_MANAGER = "sandbox-seed";

function type(group: string, plural: string): ResourceType {
  const found = findResource(group, "v1", plural);
  if (!found) throw new TypeError(`Cannot find resource type ${group}/${plural}`);
  return found;
}

function b64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}

function randomSecret(bytes = 18): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Generate a real self-signed certificate (365 days) and key with the `openssl` binary. */
export async function selfSignedCertificate(
  commonName: string,
): Promise<{ cert: string; key: string }> {
  const dir = await Deno.makeTempDir({ prefix: "sandbox-cert-" });
  try {
    const out = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-sha256",
        "-days",
        "365",
        "-subj",
        `/CN=${commonName}`,
        "-addext",
        `subjectAltName=DNS:${commonName}`,
        "-keyout",
        `${dir}/tls.key`,
        "-out",
        `${dir}/tls.crt`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `Cannot generate the sandbox TLS certificate: openssl: ${
          new TextDecoder().decode(out.stderr).trim()
        }`,
      );
    }
    return {
      cert: await Deno.readTextFile(`${dir}/tls.crt`),
      key: await Deno.readTextFile(`${dir}/tls.key`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function create(api: Api, t: ResourceType, namespace: string, obj: KObject): KObject {
  return api.create(t, namespace, obj, { manager: SEED_MANAGER });
}

/** Seed an empty store like a cluster ready for Tracktion. */
export async function seedCluster(api: Api): Promise<void> {
  const ns = type("", "namespaces");
  const nodes = type("", "nodes");
  for (const name of ["default", "kube-system", "kube-public", ...TRACKTION_NAMESPACES]) {
    create(api, ns, "", { metadata: { name } });
  }
  for (let i = 1; i <= 3; i++) {
    const node = create(api, nodes, "", {
      metadata: {
        name: `sandbox-node-${i}`,
        labels: {
          "kubernetes.io/hostname": `sandbox-node-${i}`,
          "kubernetes.io/os": "linux",
          "node-role.kubernetes.io/worker": "",
        },
      },
      spec: { podCIDR: `10.244.${i}.0/24` },
    });
    node.status = {
      capacity: { cpu: "8", memory: "32Gi", pods: "110", "ephemeral-storage": "100Gi" },
      allocatable: { cpu: "7800m", memory: "31Gi", pods: "110", "ephemeral-storage": "95Gi" },
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "KubeletReady",
          message: "kubelet is posting ready status",
          lastHeartbeatTime: node.metadata &&
            (node.metadata as Record<string, unknown>).creationTimestamp,
          lastTransitionTime: (node.metadata as Record<string, unknown>).creationTimestamp,
        },
        { type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory" },
        { type: "DiskPressure", status: "False", reason: "KubeletHasNoDiskPressure" },
      ],
      addresses: [{ type: "InternalIP", address: `10.0.0.${10 + i}` }, {
        type: "Hostname",
        address: `sandbox-node-${i}`,
      }],
      nodeInfo: {
        kubeletVersion: "v1.32.0",
        containerRuntimeVersion: "sandbox://1.0",
        osImage: "Tracktion Sandbox",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    };
    api.store.put(nodes, node);
  }
  const { cert, key } = await selfSignedCertificate("tracktion.local");
  const secrets = type("", "secrets");
  for (const namespace of TRACKTION_NAMESPACES) {
    const env = namespace.replace("tracktion-", "");
    create(api, secrets, namespace, {
      metadata: { name: "db-credentials", labels: { app: "tracktion" } },
      data: {
        host: b64("127.0.0.1"),
        port: b64("5432"),
        username: b64("tracktion"),
        password: b64(randomSecret()),
        database: b64(`tracktion_${env}`),
      },
    });
    create(api, secrets, namespace, {
      metadata: { name: "redis-credentials", labels: { app: "tracktion" } },
      data: { host: b64("127.0.0.1"), port: b64("6379"), password: b64(randomSecret()) },
    });
    create(api, secrets, namespace, {
      metadata: { name: "api-keys", labels: { app: "tracktion" } },
      data: {
        "analysis-api-key": b64(randomSecret()),
        "notification-api-key": b64(randomSecret()),
      },
    });
    create(api, secrets, namespace, {
      metadata: { name: "tls-certificates", labels: { app: "tracktion" } },
      type: "kubernetes.io/tls",
      data: { "tls.crt": b64(cert), "tls.key": b64(key) },
    });
    create(api, type("", "serviceaccounts"), namespace, {
      metadata: { name: "tracktion-deployer" },
    });
    create(api, type("rbac.authorization.k8s.io", "roles"), namespace, {
      metadata: { name: "tracktion-deployer" },
      rules: [
        {
          apiGroups: ["", "apps", "batch", "gateway.networking.k8s.io"],
          resources: ["*"],
          verbs: ["*"],
        },
      ],
    });
    create(api, type("rbac.authorization.k8s.io", "rolebindings"), namespace, {
      metadata: { name: "tracktion-deployer" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "tracktion-deployer" },
      subjects: [{ kind: "ServiceAccount", name: "tracktion-deployer", namespace }],
    });
    const netpol = type("networking.k8s.io", "networkpolicies");
    create(api, netpol, namespace, {
      metadata: { name: "tracktion-default-deny" },
      spec: { podSelector: {}, policyTypes: ["Ingress"] },
    });
    create(api, netpol, namespace, {
      metadata: { name: "tracktion-allow-same-namespace" },
      spec: {
        podSelector: { matchLabels: { app: "tracktion" } },
        ingress: [{ from: [{ podSelector: {} }] }],
        policyTypes: ["Ingress"],
      },
    });
    const services = type("", "services");
    const lb = create(api, services, namespace, {
      metadata: { name: "tracktion-lb", labels: { app: "tracktion" } },
      spec: {
        type: "LoadBalancer",
        selector: { app: "tracktion" },
        ports: [{ name: "http", port: 80, targetPort: 8000 }],
      },
    });
    lb.status = { loadBalancer: { ingress: [{ ip: "127.0.0.1", ipMode: "VIP" }] } };
    api.store.put(services, lb);
  }
}

/** Write (create or update) the `kube-system/sandbox-info` ConfigMap. */
export function writeSandboxInfo(api: Api, data: Record<string, string>): void {
  const cm = type("", "configmaps");
  const existing = api.store.get(cm, "kube-system", "sandbox-info");
  if (existing) {
    existing.data = data;
    api.update(cm, "kube-system", "sandbox-info", existing, { manager: SEED_MANAGER });
  } else {
    create(api, cm, "kube-system", { metadata: { name: "sandbox-info" }, data });
  }
}
