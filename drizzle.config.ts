import { defineConfig } from "drizzle-kit";

// `npx drizzle-kit generate --name <verb_noun>` writes the next migration into migrations/.
export default defineConfig({
  dialect: "sqlite",
  schema: "./worker/db/schema.ts",
  out: "./migrations",
  migrations: { prefix: "index" },
});
