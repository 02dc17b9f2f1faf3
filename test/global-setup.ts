import type { TestProject } from "vitest/node";
import { startSink } from "./support/sink";

export default async function setup(project: TestProject) {
  const sink = await startSink();
  project.provide("sinkPort", sink.port);
  return () => new Promise<void>((resolve) => sink.server.close(() => resolve()));
}
