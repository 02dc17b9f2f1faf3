import { EmailMessage } from "cloudflare:email";
import { config } from "../config";
import type { NodeDeps } from "../engine/step";
import { secretForms } from "../lib/redact";
import { mirrorPort } from "../entities/mirror-port";
import { planningPort } from "../planning";
import { discountsPort } from "../discounts";
import { linksPort } from "../engagement/store";
import { capsBinder, type CapsBinder } from "./caps-port";
import { eventWaitsPort } from "../waits/store";

/** What a step is executed with: the deps its action may touch, and the secrets to keep out of its record. */
export interface StepDeps {
  /** What actions get; `caps` caps nothing until the harness binds it to a step (`forStep`). */
  deps: RunDeps;
  /** Every spelling of every credential (lib/redact.ts), scrubbed from results and logs. */
  secretForms: readonly string[];
}

/** The deps of the run shell: those of actions, with daily caps (SPEC §14) still to bind to a step. */
export type RunDeps = NodeDeps & { caps: CapsBinder };

/** Built once per env: the bindings and settings do not change while an isolate lives. */
const cache = new WeakMap<Env, StepDeps>();

/** The only place the run shell turns bindings into what actions get. */
export function stepDeps(env: Env): StepDeps {
  let built = cache.get(env);
  if (!built) {
    const cfg = config(env);
    built = {
      deps: {
        config: cfg,
        fetch: (input, init) => fetch(input, init),
        // A fresh EmailMessage per call: its body stream can be read only once.
        sendEmail: async ({ from, to, raw }) => {
          await env.EMAIL.send(new EmailMessage(from, to, raw));
        },
        planning: planningPort(env.DB),
        // Codes are derived with a key from EVENTS_SECRET, which every deployment has (discounts/code.ts).
        discounts: discountsPort(env.DB, cfg.EVENTS_SECRET),
        mirror: mirrorPort(env.DB),
        // Link tokens are keyed from EVENTS_SECRET too (engagement/tokens.ts).
        links: linksPort(env.DB, cfg.EVENTS_SECRET, cfg.PUBLIC_URL),
        // One CapsObject per workflow; the harness binds it to each step with the pinned caps.
        caps: capsBinder(env.CAPS),
        events: eventWaitsPort(env.DB),
      },
      // The VAPID private key too: nothing a push service echoes may carry it into a record.
      secretForms: secretForms([...cfg.credentials.values(), ...(cfg.VAPID.ok ? [cfg.VAPID.keys.privateKey] : [])]),
    };
    cache.set(env, built);
  }
  return built;
}
