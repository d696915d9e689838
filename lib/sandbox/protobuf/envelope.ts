/**
 * Kubernetes' protobuf wire format for one object: the 4-byte magic `k8s\0`, then a
 * `runtime.Unknown` whose `typeMeta` names the kind and whose `raw` holds the object's
 * message (apimachinery's `runtime/serializer/protobuf`).
 * @module
 */
import type protobuf from "protobufjs";
import { messageFromObject, objectToJson, ProtobufUnsupportedError } from "./convert.ts";
import { kindType, supportedKinds, unknownType } from "./schema.ts";

/** The media type of a Kubernetes protobuf body. */
export const PROTOBUF_MEDIA_TYPE = "application/vnd.kubernetes.protobuf";

const MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

/**
 * A body that is not a well-formed Kubernetes protobuf message (no `k8s\0` magic, a
 * truncated or corrupt envelope or object).
 *
 * @example
 * ```ts
 * import { decodeObject, ProtobufSyntaxError } from "./envelope.ts";
 * let error: unknown;
 * try {
 *   decodeObject(new Uint8Array([1, 2, 3]));
 * } catch (e) {
 *   error = e;
 * }
 * console.assert(error instanceof ProtobufSyntaxError);
 * ```
 */
export class ProtobufSyntaxError extends SyntaxError {
  /**
   * Creates the error.
   *
   * @param message What is wrong with the bytes.
   */
  constructor(message: string) {
    super(message);
    this.name = "ProtobufSyntaxError";
  }
}

function typeOf(apiVersion: string, kind: string): protobuf.Type {
  const type = kindType(apiVersion, kind);
  if (!type) {
    throw new ProtobufUnsupportedError(
      `the sandbox has no protobuf schema for ${apiVersion || "(no apiVersion)"} ${
        kind || "(no kind)"
      } (it has: ${supportedKinds().join(", ")})`,
    );
  }
  return type;
}

/**
 * Encodes an object (with `apiVersion` and `kind`) as a Kubernetes protobuf body.
 *
 * @param object The object's JSON.
 * @returns The bytes: magic, then the `runtime.Unknown` envelope.
 * @throws {ProtobufUnsupportedError} For a kind without a schema, or a field or value the
 * schema cannot represent.
 *
 * @example
 * ```ts
 * import { decodeObject, encodeObject } from "./envelope.ts";
 * const bytes = encodeObject({ apiVersion: "v1", kind: "ConfigMap", data: { a: "b" } });
 * console.assert(new TextDecoder().decode(bytes.slice(0, 3)) === "k8s");
 * console.assert((decodeObject(bytes).data as Record<string, string>).a === "b");
 * ```
 */
export function encodeObject(object: Record<string, unknown>): Uint8Array<ArrayBuffer> {
  const apiVersion = typeof object.apiVersion === "string" ? object.apiVersion : "";
  const kind = typeof object.kind === "string" ? object.kind : "";
  const type = typeOf(apiVersion, kind);
  const raw = type.encode(messageFromObject(type, object)).finish();
  const envelope = unknownType();
  const body = envelope.encode(envelope.fromObject({
    typeMeta: { apiVersion, kind },
    raw,
    contentEncoding: "",
    contentType: "",
  })).finish();
  const out = new Uint8Array(MAGIC.length + body.length);
  out.set(MAGIC);
  out.set(body, MAGIC.length);
  return out;
}

function decodeMessage(type: protobuf.Type, bytes: Uint8Array, what: string): protobuf.Message {
  try {
    return type.decode(bytes);
  } catch (error) {
    throw new ProtobufSyntaxError(`${what} does not decode: ${(error as Error).message}`);
  }
}

/**
 * Decodes a Kubernetes protobuf body into the object's JSON (with `apiVersion` and `kind`).
 *
 * @param bytes The body.
 * @returns The object, shaped as the API server's JSON.
 * @throws {ProtobufSyntaxError} For bytes that are not a Kubernetes protobuf message.
 * @throws {ProtobufUnsupportedError} For a kind without a schema, an encoded (`contentEncoding`)
 * payload, or fields the schema does not define (they would be lost).
 *
 * @example
 * ```ts
 * import { decodeObject, encodeObject } from "./envelope.ts";
 * const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: {} };
 * console.assert(decodeObject(encodeObject(pod)).kind === "Pod");
 * ```
 */
export function decodeObject(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.length < MAGIC.length || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new ProtobufSyntaxError(
      `the body does not start with the Kubernetes protobuf magic "k8s\\x00" (${bytes.length} bytes)`,
    );
  }
  const envelopeType = unknownType();
  const envelope = envelopeType.toObject(
    decodeMessage(envelopeType, bytes.subarray(MAGIC.length), "the runtime.Unknown envelope"),
    { bytes: Array, defaults: false },
  ) as {
    typeMeta?: { apiVersion?: string; kind?: string };
    raw?: number[];
    contentEncoding?: string;
  };
  const apiVersion = envelope.typeMeta?.apiVersion ?? "";
  const kind = envelope.typeMeta?.kind ?? "";
  if (!kind) throw new ProtobufSyntaxError("the runtime.Unknown envelope names no kind");
  if (envelope.contentEncoding) {
    throw new ProtobufUnsupportedError(
      `the sandbox does not read protobuf bodies with contentEncoding "${envelope.contentEncoding}"`,
    );
  }
  const type = typeOf(apiVersion, kind);
  const raw = Uint8Array.from(envelope.raw ?? []);
  const message = decodeMessage(type, raw, `the ${kind} message`);
  // protobufjs skips fields it has no definition for; re-encoding shows whether any were.
  if (type.encode(message).finish().length !== raw.length) {
    throw new ProtobufUnsupportedError(
      `the ${apiVersion} ${kind} body has fields the sandbox's protobuf schema does not define (they would be lost); send it as JSON`,
    );
  }
  return { apiVersion, kind, ...objectToJson(type, message) };
}
