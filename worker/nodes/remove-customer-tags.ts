import { customerTagsAction, removeTags } from "./customer-tags";

/** Removes tags from a customer (default: the trigger's); tags it lacks are ignored; `{customer_id, tags}`. */
export const removeCustomerTags = customerTagsAction({ type: "remove_customer_tags", label: "Remove customer tags", apply: removeTags });
