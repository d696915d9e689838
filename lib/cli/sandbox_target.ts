export * from "../targets/sandbox.ts";
