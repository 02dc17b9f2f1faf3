import { tagsForm, TagsChange, tagsText } from "./customer-tags";
import type { NodeUi } from "./types";

export const addCustomerTags: NodeUi<"add_customer_tags"> = {
  label: "Add customer tags",
  hint: "Tag the customer, e.g. as a high-value subscriber",
  idBase: "tag",
  outputs: ["customer_id", "tags"],
  colour: "#3d7d3a",
  action: true,
  defaultConfig: () => ({ tags: [] }),
  summary: (c) => `Tag ${c.customer ?? "the customer"}: ${tagsText(c.tags)}`,
  Form: tagsForm("add"),
  RunDetail: TagsChange,
};
