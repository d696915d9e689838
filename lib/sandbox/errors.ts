/**
 * `ApiError`: a Kubernetes `Status` (code, reason, details and causes) thrown anywhere in the
 * sandbox and written as the API server would answer it.
 * @module
 */
/** A Kubernetes `Status` cause, as carried by 422 Invalid and 409 apply conflicts. */
export interface StatusCause {
  /** Machine-readable reason, e.g. `FieldValueInvalid`. */
  reason: string;
  /** Human-readable message. */
  message: string;
  /** The field path, e.g. `spec.replicas`. */
  field: string;
}

/** Options for {@linkcode ApiError}. */
export interface ApiErrorOptions {
  /** The `Status.reason`, e.g. `NotFound`. */
  reason: string;
  /** The resource (plural) the error is about. */
  kind?: string;
  /** The object name the error is about. */
  name?: string;
  /** The API group of the resource. */
  group?: string;
  /** Causes (422 and apply conflicts). */
  causes?: StatusCause[];
}

/**
 * An error answered to a client as a real Kubernetes `Status` object.
 *
 * @example Build a NotFound error
 * ```ts
 * import { ApiError } from "./errors.ts";
 * const error = ApiError.notFound("configmaps", "x");
 * console.assert(error.code === 404);
 * ```
 */
export class ApiError extends Error {
  /** The HTTP status code. */
  readonly code: number;
  /** The `Status.reason`. */
  readonly reason: string;
  /** The options the error was built with. */
  readonly details: ApiErrorOptions;

  /**
   * @param code The HTTP status code.
   * @param message The `Status.message`.
   * @param options Reason and details.
   */
  constructor(code: number, message: string, options: ApiErrorOptions) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.reason = options.reason;
    this.details = options;
  }

  /** The `Status` object for this error. */
  toStatus(): Record<string, unknown> {
    const details: Record<string, unknown> = {};
    if (this.details.name !== undefined) details.name = this.details.name;
    if (this.details.group) details.group = this.details.group;
    if (this.details.kind !== undefined) details.kind = this.details.kind;
    if (this.details.causes) details.causes = this.details.causes;
    const status: Record<string, unknown> = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (Object.keys(details).length > 0) status.details = details;
    return status;
  }

  /** 404 NotFound for `<plural> "<name>" not found`. */
  static notFound(plural: string, name: string, group = ""): ApiError {
    const what = group ? `${plural}.${group}` : plural;
    return new ApiError(404, `${what} "${name}" not found`, {
      reason: "NotFound",
      kind: plural,
      name,
      group,
    });
  }

  /** 409 AlreadyExists. */
  static alreadyExists(plural: string, name: string, group = ""): ApiError {
    const what = group ? `${plural}.${group}` : plural;
    return new ApiError(409, `${what} "${name}" already exists`, {
      reason: "AlreadyExists",
      kind: plural,
      name,
      group,
    });
  }

  /** 409 Conflict on a stale resourceVersion. */
  static conflict(plural: string, name: string, group = ""): ApiError {
    const what = group ? `${plural}.${group}` : plural;
    return new ApiError(
      409,
      `Operation cannot be fulfilled on ${what} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      { reason: "Conflict", kind: plural, name, group },
    );
  }

  /** 422 Invalid with causes. */
  static invalid(
    kind: string,
    name: string,
    causes: StatusCause[],
    group = "",
  ): ApiError {
    const list = causes.map((c) => `${c.field}: ${c.message}`);
    const joined = list.length === 1 ? list[0] : `[${list.join(", ")}]`;
    return new ApiError(422, `${kind} "${name}" is invalid: ${joined}`, {
      reason: "Invalid",
      kind,
      name,
      group,
      causes,
    });
  }

  /** 400 BadRequest. */
  static badRequest(message: string): ApiError {
    return new ApiError(400, message, { reason: "BadRequest" });
  }

  /** 405 MethodNotAllowed. */
  static methodNotAllowed(message: string): ApiError {
    return new ApiError(405, message, { reason: "MethodNotAllowed" });
  }

  /** 415 UnsupportedMediaType. */
  static unsupportedMediaType(message: string): ApiError {
    return new ApiError(415, message, { reason: "UnsupportedMediaType" });
  }
}

/** Build a `FieldValueInvalid`-style cause. */
export function cause(reason: string, field: string, message: string): StatusCause {
  return { reason, field, message };
}
