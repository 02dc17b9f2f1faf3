import { ChipsField } from "../components/common/collection-fields";
import { EntityChangeView, TargetField, textOf } from "./entity-change";
import type { NodeFormProps, NodeRunDetailProps } from "./types";

/* The form and run view add_customer_tags and remove_customer_tags share. */

export function tagsForm(verb: "add" | "remove") {
  return function CustomerTagsForm(props: NodeFormProps) {
    return (
      <>
        <ChipsField
          b={props.b}
          path={["config", "tags"]}
          label={verb === "add" ? "Tags to add" : "Tags to remove"}
          vars
          placeholder="e.g. vip"
          hint={`Up to 100 characters each; a variable holding a list gives every item. ${verb === "add" ? "Tags the customer has are kept" : "Tags the customer lacks are ignored"}, so running it twice changes nothing more.`}
        />
        <TargetField {...props} kind="customer" />
      </>
    );
  };
}

export function TagsChange(props: NodeRunDetailProps) {
  return (
    <EntityChangeView
      {...props}
      describe={(o) => {
        const tags = Array.isArray(o.tags) ? o.tags.map(textOf) : [];
        return `Customer ${textOf(o.customer_id)} now has ${tags.length === 0 ? "no tags" : `the tags ${tags.join(", ")}`}.`;
      }}
    />
  );
}

export const tagsText = (tags: readonly string[] | undefined) => (tags ?? []).join(", ") || "(no tags yet)";
