import type { DiscountCode, DiscountType } from "./discount";

/*
 * The D1 work of create_discount_code, as a port (binding-free): the node calls it through its
 * deps, worker/discounts/index.ts implements it on D1, and tests may stand in for it.
 */

/** A code to make, as the step resolved it. */
export interface NewDiscountCode {
  type: DiscountType;
  value: number;
  currency: string | null;
  /** An ISO instant: the last moment the code works. */
  expires_at: string;
  usage_limit: number;
  customer_id: string | null;
  variant_ids: string[] | null;
  /** Put before the derived code with a hyphen; "" for none. */
  prefix: string;
}

/** The step that makes a code, and so owns it. */
export interface CodeOwner {
  runId: string;
  nodeId: string;
  /** The step's idempotency key: the code is derived from it. */
  stepKey: string;
  /** A test run's code is marked as test data. */
  test: boolean;
}

export interface DiscountsPort {
  /**
   * The code this step owns: stored on the first call, the same stored code on every later call
   * of the same step (its fields as first stored), whatever the step asks the second time.
   */
  createCode(code: NewDiscountCode, owner: CodeOwner, now: Date): Promise<DiscountCode>;
}
