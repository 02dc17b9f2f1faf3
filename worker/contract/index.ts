/*
 * What crosses the wire between the worker and its clients: binding-free zod schemas and their
 * types. The routes document and answer with these; the UI imports only this folder, and only
 * its types (`import type`), so no zod code enters its bundle.
 */
export * from "./approval";
export * from "./definition";
export * from "./discount-code";
export * from "./engagement";
export * from "./entity";
export * from "./error";
export * from "./event";
export * from "./meta";
export * from "./node";
export * from "./page";
export * from "./plan";
export * from "./preview";
export * from "./push";
export * from "./restock";
export * from "./retry";
export * from "./run";
export * from "./workflow";
/** The definition's vocabulary, for clients that offer its choices. */
export type { ConditionOp } from "../definition/conditions";
export type { EventKind, TriggerEntity } from "../definition/common";
