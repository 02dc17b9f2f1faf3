import { DurableObject } from "cloudflare:workers";

export class RunObject extends DurableObject<Env> {}
