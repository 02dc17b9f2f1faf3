import type { z } from "zod";
import type { NODE_MODULES, NodeType } from "../nodes";
import type { DefinitionInput } from "./definition";

/*
 * Node types as a client writes them. The definition schema's node union is built from the
 * registry at run time, so its inferred type is not discriminated by `type`; these types are.
 */

export type { NodeType };

type NodeModuleOf<T extends NodeType> = Extract<(typeof NODE_MODULES)[number], { type: T }>;
/** A node type's config as a client writes it (defaults not applied), from its module's schema. */
export type NodeConfigInput<T extends NodeType> = z.input<NodeModuleOf<T>["configSchema"]>;

type NodeCommon = Omit<DefinitionInput["nodes"][number], "type" | "config">;
/** A node as a client writes it, discriminated by type. */
export type NodeInput = { [T in NodeType]: NodeCommon & { type: T; config: NodeConfigInput<T> } }[NodeType];
export type TriggerInput = DefinitionInput["trigger"];
