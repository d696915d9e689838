/**
 * Object validation as the API server does it: decoding (types of known fields), names,
 * labels, selectors that match their templates, ports, and each kind's required fields,
 * answered with 422 Invalid and its causes.
 * @module
 */
import type { KObject, ResourceType } from "./resources.ts";
import { ApiError, cause, type StatusCause } from "./errors.ts";
import { matchesSelectorObject } from "./selectors.ts";
import { SANDBOX_LIMITS } from "./limits.ts";
import { monitoringCauses } from "./validate_monitoring.ts";

type JsonMap = Record<string, unknown>;

function isMap(v: unknown): v is JsonMap {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;
const KEY_NAME = /^[-._a-zA-Z0-9]+$/;

function decodeError(type: ResourceType, detail: string): ApiError {
  return ApiError.badRequest(
    `${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: ${detail}`,
  );
}

function expectInt(type: ResourceType, value: unknown, goField: string): void {
  if (value === undefined || value === null) return;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    const what = typeof value === "number" ? "number " + value : typeof value;
    throw decodeError(
      type,
      `json: cannot unmarshal ${what} into Go struct field ${goField} of type int32`,
    );
  }
}

function expectMicroTime(type: ResourceType, value: unknown, field: string): void {
  if (value === undefined || value === null) return;
  if (typeof value !== "string" || !MICRO_TIME.test(value)) {
    throw decodeError(
      type,
      `parsing time ${JSON.stringify(value)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse ${
        JSON.stringify(String(value).slice(19))
      } as ".000000" (field ${field})`,
    );
  }
}

/**
 * Decode-level checks that the real server answers with 400 BadRequest (wrong JSON types,
 * a Lease time that is not a MicroTime, secret data that is not base64).
 */
export function checkDecode(type: ResourceType, obj: KObject): void {
  if (!isMap(obj.metadata)) throw decodeError(type, "metadata must be an object");
  const spec = isMap(obj.spec) ? obj.spec : {};
  if (type.kind === "Deployment" || type.kind === "ReplicaSet") {
    expectInt(type, spec.replicas, `${type.kind}Spec.spec.replicas`);
  }
  if (type.kind === "Lease") {
    expectMicroTime(type, spec.renewTime, "spec.renewTime");
    expectMicroTime(type, spec.acquireTime, "spec.acquireTime");
    expectInt(type, spec.leaseDurationSeconds, "LeaseSpec.spec.leaseDurationSeconds");
    expectInt(type, spec.leaseTransitions, "LeaseSpec.spec.leaseTransitions");
  }
  if (type.kind === "Secret" && isMap(obj.data)) {
    for (const [k, v] of Object.entries(obj.data)) {
      if (typeof v !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
        throw decodeError(type, `illegal base64 data at input byte 0 (key ${k})`);
      }
    }
  }
}

function podSpecCauses(spec: unknown, field: string): StatusCause[] {
  const out: StatusCause[] = [];
  const containers = isMap(spec) ? spec.containers : undefined;
  if (!Array.isArray(containers) || containers.length === 0) {
    out.push(cause("FieldValueRequired", `${field}.containers`, "Required value"));
    return out;
  }
  containers.forEach((c, i) => {
    const f = `${field}.containers[${i}]`;
    if (!isMap(c) || typeof c.name !== "string" || c.name === "") {
      out.push(cause("FieldValueRequired", `${f}.name`, "Required value"));
    } else if (!DNS1123_LABEL.test(c.name)) {
      out.push(
        cause(
          "FieldValueInvalid",
          `${f}.name`,
          `Invalid value: "${c.name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'`,
        ),
      );
    }
    if (!isMap(c) || typeof c.image !== "string" || c.image === "") {
      out.push(cause("FieldValueRequired", `${f}.image`, "Required value"));
    }
  });
  return out;
}

function templateCauses(obj: KObject, requireSelector: boolean): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = isMap(obj.spec) ? obj.spec : {};
  const template = isMap(spec.template) ? spec.template : {};
  const labels = (isMap(template.metadata) ? template.metadata.labels : undefined) as
    | Record<string, string>
    | undefined;
  if (requireSelector && !isMap(spec.selector)) {
    out.push(cause("FieldValueRequired", "spec.selector", "Required value"));
  } else if (isMap(spec.selector) && !matchesSelectorObject(spec.selector, labels)) {
    out.push(
      cause(
        "FieldValueInvalid",
        "spec.template.metadata.labels",
        `Invalid value: ${
          JSON.stringify(labels ?? {})
        }: \`selector\` does not match template \`labels\``,
      ),
    );
  }
  out.push(...podSpecCauses(template.spec, "spec.template.spec"));
  if (typeof spec.replicas === "number" && spec.replicas < 0) {
    out.push(
      cause(
        "FieldValueInvalid",
        "spec.replicas",
        `Invalid value: ${spec.replicas}: must be greater than or equal to 0`,
      ),
    );
  }
  const counts = obj.kind === "Job" ? ["parallelism", "completions"] : ["replicas"];
  for (const field of counts) {
    const value = spec[field];
    if (typeof value === "number" && value > SANDBOX_LIMITS.replicas) {
      out.push(
        cause(
          "FieldValueInvalid",
          `spec.${field}`,
          `Invalid value: ${value}: must be less than or equal to ${SANDBOX_LIMITS.replicas} (the sandbox's limit)`,
        ),
      );
    }
  }
  return out;
}

function metadataCauses(type: ResourceType, obj: KObject): StatusCause[] {
  const out: StatusCause[] = [];
  const m = obj.metadata as JsonMap;
  const name = String(m.name ?? "");
  const label = type.kind === "Namespace" || type.kind === "Service";
  const re = type.kind === "Service" ? DNS1035_LABEL : label ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
  if (name === "") {
    out.push(
      cause(
        "FieldValueRequired",
        "metadata.name",
        "Required value: name or generateName is required",
      ),
    );
  } else if (!re.test(name) || name.length > (label ? 63 : 253)) {
    const what = type.kind === "Service"
      ? "a DNS-1035 label"
      : label
      ? "a lowercase RFC 1123 label"
      : "a lowercase RFC 1123 subdomain";
    out.push(
      cause(
        "FieldValueInvalid",
        "metadata.name",
        `Invalid value: "${name}": ${what} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      ),
    );
  }
  for (const [k, v] of Object.entries(isMap(m.labels) ? m.labels : {})) {
    if (typeof v !== "string" || v.length > 63 || !LABEL_VALUE.test(v)) {
      out.push(
        cause(
          "FieldValueInvalid",
          `metadata.labels`,
          `Invalid value: "${
            String(v)
          }": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (label ${k})`,
        ),
      );
    }
  }
  return out;
}

/** Validate an object as the real server does for the fields we know; 422 with causes. */
export function validate(type: ResourceType, obj: KObject): void {
  const causes = metadataCauses(type, obj);
  const spec = isMap(obj.spec) ? obj.spec : {};
  switch (type.kind) {
    case "Deployment": {
      causes.push(...templateCauses(obj, true));
      const ru = isMap(spec.strategy) && isMap(spec.strategy.rollingUpdate)
        ? spec.strategy.rollingUpdate
        : undefined;
      if (
        ru && (ru.maxSurge === 0 || ru.maxSurge === "0%") &&
        (ru.maxUnavailable === 0 || ru.maxUnavailable === "0%")
      ) {
        causes.push(
          cause(
            "FieldValueInvalid",
            "spec.strategy.rollingUpdate.maxUnavailable",
            "Invalid value: 0: may not be 0 when `maxSurge` is 0",
          ),
        );
      }
      break;
    }
    case "ReplicaSet":
      causes.push(...templateCauses(obj, true));
      break;
    case "Job": {
      causes.push(...templateCauses(obj, false));
      const tspec = isMap(spec.template) && isMap(spec.template.spec) ? spec.template.spec : {};
      const rp = tspec.restartPolicy;
      if (rp !== "OnFailure" && rp !== "Never") {
        causes.push(
          cause(
            rp === undefined ? "FieldValueRequired" : "FieldValueNotSupported",
            "spec.template.spec.restartPolicy",
            rp === undefined
              ? `Required value: valid values: "OnFailure", "Never"`
              : `Unsupported value: "${rp}": supported values: "OnFailure", "Never"`,
          ),
        );
      }
      break;
    }
    case "CronJob":
      if (typeof spec.schedule !== "string" || spec.schedule.trim().split(/\s+/).length < 5) {
        causes.push(
          cause(
            "FieldValueInvalid",
            "spec.schedule",
            `Invalid value: ${JSON.stringify(spec.schedule ?? "")}: expected exactly 5 fields`,
          ),
        );
      }
      break;
    case "Pod":
      causes.push(...podSpecCauses(spec, "spec"));
      break;
    case "Service": {
      const ports = spec.ports;
      if (
        spec.type !== "ExternalName" && spec.clusterIP !== "None" &&
        (!Array.isArray(ports) || ports.length === 0)
      ) {
        causes.push(cause("FieldValueRequired", "spec.ports", "Required value"));
      }
      (Array.isArray(ports) ? ports : []).forEach((p, i) => {
        const port = isMap(p) ? p.port : undefined;
        if (typeof port !== "number" || port < 1 || port > 65535) {
          causes.push(
            cause(
              "FieldValueInvalid",
              `spec.ports[${i}].port`,
              `Invalid value: ${JSON.stringify(port)}: must be between 1 and 65535, inclusive`,
            ),
          );
        }
      });
      break;
    }
    case "ConfigMap":
    case "Secret":
      for (const field of ["data", "stringData", "binaryData"]) {
        for (const key of Object.keys(isMap(obj[field]) ? obj[field] as JsonMap : {})) {
          if (!KEY_NAME.test(key)) {
            causes.push(
              cause(
                "FieldValueInvalid",
                `${field}[${key}]`,
                `Invalid value: "${key}": a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
              ),
            );
          }
        }
      }
      break;
    case "Lease":
      if (typeof spec.leaseDurationSeconds === "number" && spec.leaseDurationSeconds <= 0) {
        causes.push(
          cause(
            "FieldValueInvalid",
            "spec.leaseDurationSeconds",
            `Invalid value: ${spec.leaseDurationSeconds}: must be greater than 0`,
          ),
        );
      }
      break;
    case "HTTPRoute": {
      const rules = Array.isArray(spec.rules) ? spec.rules : [];
      rules.forEach((r, i) => {
        const refs = isMap(r) && Array.isArray(r.backendRefs) ? r.backendRefs : [];
        refs.forEach((b, j) => {
          const w = isMap(b) ? b.weight : undefined;
          if (
            w !== undefined &&
            (typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > 1_000_000)
          ) {
            causes.push(
              cause(
                "FieldValueInvalid",
                `spec.rules[${i}].backendRefs[${j}].weight`,
                `Invalid value: ${
                  JSON.stringify(w)
                }: spec.rules[${i}].backendRefs[${j}].weight in body should be between 0 and 1000000`,
              ),
            );
          }
        });
      });
      break;
    }
    case "ServiceMonitor":
    case "PrometheusRule":
      causes.push(...monitoringCauses(type.kind, obj));
      break;
  }
  if (causes.length > 0) {
    const m = obj.metadata as JsonMap;
    throw invalid(type, String(m.name ?? ""), causes);
  }
}

/** 422 Invalid; a custom resource is named with its group, as the real server names it. */
function invalid(type: ResourceType, name: string, causes: StatusCause[]): ApiError {
  const error = ApiError.invalid(type.kind, name, causes, type.group);
  if (!type.custom) return error;
  const list = causes.map((c) => `${c.field}: ${c.message}`);
  const joined = list.length === 1 ? list[0] : `[${list.join(", ")}]`;
  return new ApiError(422, `${type.kind}.${type.group} "${name}" is invalid: ${joined}`, {
    reason: "Invalid",
    kind: type.kind,
    name,
    group: type.group,
    causes,
  });
}
