import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest(async ({ inject }) => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        // Faster and shorter than production, so that redelivery and the dead-letter queue are
        // testable in seconds: one retry, then the dead-letter queue.
        queueConsumers: {
          "workflow-events": { maxBatchSize: 100, maxBatchTimeout: 0.05, maxRetries: 1, deadLetterQueue: "workflow-events-dead" },
          "workflow-events-dead": { maxBatchSize: 50, maxBatchTimeout: 0.05 },
        },
        bindings: {
          TEST_MIGRATIONS: await readD1Migrations("./migrations"),
          SINK_ORIGIN: `http://127.0.0.1:${inject<number>("sinkPort")}`,
          API_TOKENS: "test-token,second-token",
          EVENTS_SECRET: "whsec_dGVzdC1ldmVudHMtc2VjcmV0LTAwMDAwMDAwMDAwMDA=",
          WEBHOOK_ALLOWED_HOSTS: "127.0.0.1,localhost",
          EMAIL_FROM: "workflows@example.com",
          INTERNAL_EMAILS: "team@example.com",
          // Tracked links point here; tests open them through SELF, whatever the origin.
          PUBLIC_URL: "https://workflows.test",
          ATTRIBUTION_DAYS: "7",
          CREDENTIAL_DEMO_ERP: "demo-token",
          CREDENTIAL_BASIC_ERP: "erp-user:erp-password",
          CREDENTIAL_HOOK_SECRET: "whsec_aG9vay1zaWduaW5nLXNlY3JldC0wMDAwMDAwMDA=",
          // A VAPID key pair for send_push tests (not the demo pair of .dev.vars.example).
          VAPID_PUBLIC_KEY: "BAgLMz9g3WLTOXVq0RM-DqBecmgoFKAA4fzPMVQ7VXyC6nDSCHXgC2WYlsW2GpdZty5d0F-NGgl8BvU7ZmDjKzs",
          VAPID_PRIVATE_KEY: "6oOoRlp-2-C6imreA3oyMOujOp3ee0yOZSXQjnmuDaM",
          VAPID_SUBJECT: "mailto:push-tests@example.com",
        },
      },
    })),
  ],
  test: {
    include: ["test/unit/**/*.test.ts", "test/worker/**/*.test.ts"],
    globalSetup: ["./test/global-setup.ts"],
    setupFiles: ["./test/apply-migrations.ts"],
    testTimeout: 20_000,
  },
});
