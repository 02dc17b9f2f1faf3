import { addTags, customerTagsAction } from "./customer-tags";

/** Adds tags to a customer (default: the trigger's), keeping the ones it has; `{customer_id, tags}`. */
export const addCustomerTags = customerTagsAction({ type: "add_customer_tags", label: "Add customer tags", apply: addTags });
