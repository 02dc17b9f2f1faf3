import { DurableObject } from "cloudflare:workers";

export class InboxObject extends DurableObject<Env> {}
