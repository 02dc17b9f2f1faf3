/** What crosses the wire between the worker and its clients: binding-free zod schemas and their types. */
export * from "./definition";
