// Values the global setup hands to tests and to the pool's config.
declare module "vitest" {
  interface ProvidedContext {
    sinkPort: number;
  }
}
export {};
