import { tagsForm, TagsChange, tagsText } from "./customer-tags";
import type { NodeUi } from "./types";

export const removeCustomerTags: NodeUi<"remove_customer_tags"> = {
  label: "Remove customer tags",
  hint: "Take tags off the customer",
  idBase: "untag",
  outputs: ["customer_id", "tags"],
  colour: "#8c6d2a",
  action: true,
  defaultConfig: () => ({ tags: [] }),
  summary: (c) => `Untag ${c.customer ?? "the customer"}: ${tagsText(c.tags)}`,
  Form: tagsForm("remove"),
  RunDetail: TagsChange,
};
