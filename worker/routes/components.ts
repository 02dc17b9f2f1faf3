import "@hono/zod-openapi";
import { DefinitionSchema } from "../contract/definition";
import { bodyDocumentedAs } from "./api";
import { definitionExamples } from "./examples";

/*
 * Contract schemas that more than one resource answers with, named once as components of the
 * OpenAPI document (`.openapi(name)` needs @hono/zod-openapi loaded, hence the import above).
 */

/** The workflow definition: in workflows, versions and runs. */
export const WorkflowDefinition = DefinitionSchema.openapi("WorkflowDefinition");

/** A definition body: documented as the component, checked by validateDefinition (schema, then graph rules). */
export const definitionBody = bodyDocumentedAs("WorkflowDefinition", "A workflow definition", definitionExamples);
