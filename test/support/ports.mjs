// Shared by the browser tests, the benchmark and the drill (plain Node, no build step).
import { createServer } from "node:net";

/** A port nothing listens on right now (loopback). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}
