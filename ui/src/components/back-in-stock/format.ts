import type { BackInStockVariant } from "../../../models/back-in-stock";

/** "Runner 2, size 42"; the variant id when the mirror has no product for it. */
export function variantLabel(v: Pick<BackInStockVariant, "variant_id" | "product_name" | "size">): string {
  const name = v.product_name ?? v.variant_id;
  return v.size ? `${name}, size ${v.size}` : name;
}

/** 0.1234 → "12.3 %"; "—" when nobody was notified (no rate to speak of). */
export const percent = (r: number | null) => (r === null ? "—" : `${(r * 100).toFixed(1)} %`);

const moneyFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
/** Attributed revenue in the shops' currency (the summary sums order lines as the platform sent them). */
export const money = (n: number) => moneyFormat.format(n);

const shortFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
/** "Nov 29, 12:12 PM": a wave's time, short enough for a phone's table. */
export const shortTime = (iso: string) => shortFormat.format(new Date(iso));
