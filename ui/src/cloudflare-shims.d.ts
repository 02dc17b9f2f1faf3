// The UI type-checks the worker modules it reaches through `import type` (definition, run, plan
// and entity schemas). Those modules mention Cloudflare runtime globals and `cloudflare:*`
// modules; the UI never touches them at run time. The Workers type library clashes with the
// DOM's, so instead the few names those modules use are declared here, loosely.
/* eslint-disable @typescript-eslint/no-explicit-any */
// Loose on purpose, and a little wider than what is reached today, so that a route module
// picking up another binding type does not break the UI's type-check.
type Env = any;
type SendEmail = any;
type DurableObjectId = any;
type DurableObjectState = any;
type DurableObjectStorage = any;
type DurableObjectNamespace<T = unknown> = any;
type DurableObjectStub<T = unknown> = any;
type Queue<T = unknown> = any;
type MessageBatch<T = unknown> = any;
type ExecutionContext = any;
type ExportedHandler<E = unknown, Q = unknown> = any;
type KVNamespace = any;
type R2Bucket = any;
type Fetcher = any;
interface D1Result<T = unknown> {
  results: T[];
  success: boolean;
  meta: any;
}
interface D1PreparedStatement {
  bind(...values: unknown[]): D1PreparedStatement;
  all<T = Record<string, unknown>>(): Promise<D1Result<T>>;
  first<T = Record<string, unknown>>(column?: string): Promise<T | null>;
  run<T = Record<string, unknown>>(): Promise<D1Result<T>>;
  raw<T = unknown[]>(options?: unknown): Promise<T[]>;
}
interface D1Database {
  prepare(query: string): D1PreparedStatement;
  batch<T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]>;
  exec(query: string): Promise<unknown>;
  [more: string]: any;
}
declare module "cloudflare:*";
