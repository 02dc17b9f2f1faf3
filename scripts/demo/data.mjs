// The demo retailer: a deterministic data set (same seed, same rows, every time) and the three
// example workflows. Pure: no I/O, so tests can check it and scripts can load it.

/** Mulberry32: a small seeded generator; Math.random would make every load different. */
function generator(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
  };
}

const STORES = [
  ["berlin_mitte", "Berlin Mitte", "de-north"],
  ["berlin_kreuzberg", "Berlin Kreuzberg", "de-north"],
  ["hamburg_altona", "Hamburg Altona", "de-north"],
  ["leipzig_zentrum", "Leipzig Zentrum", "de-north"],
  ["dresden_neustadt", "Dresden Neustadt", "de-north"],
  ["cologne_ehrenfeld", "Cologne Ehrenfeld", "de-west"],
  ["duesseldorf_altstadt", "Düsseldorf Altstadt", "de-west"],
  ["frankfurt_sachsenhausen", "Frankfurt Sachsenhausen", "de-west"],
  ["munich_schwabing", "Munich Schwabing", "de-south"],
  ["stuttgart_mitte", "Stuttgart Mitte", "de-south"],
  ["vienna_neubau", "Vienna Neubau", "alps"],
  ["zurich_kreis4", "Zurich Kreis 4", "alps"],
  ["amsterdam_jordaan", "Amsterdam Jordaan", "benelux"],
  ["antwerp_zuid", "Antwerp Zuid", "benelux"],
  ["copenhagen_noerrebro", "Copenhagen Nørrebro", "nordics"],
  ["stockholm_soedermalm", "Stockholm Södermalm", "nordics"],
  ["paris_marais", "Paris Le Marais", "france"],
  ["milan_brera", "Milan Brera", "italy"],
];
const WAREHOUSES = [
  ["hamburg", "Warehouse Hamburg", "de-north"],
  ["munich", "Warehouse Munich", "de-south"],
  ["rotterdam", "Warehouse Rotterdam", "benelux"],
  ["malmo", "Warehouse Malmö", "nordics"],
];
const ONLINE = [
  ["eu", "Online shop EU", "eu"],
  ["nordics", "Online shop Nordics", "nordics"],
];

const SIZES = {
  footwear: ["39", "40", "41", "42", "43", "44", "45"],
  apparel: ["XS", "S", "M", "L", "XL", "XXL"],
  denim: ["W28", "W30", "W32", "W34", "W36"],
  one: ["One size"],
};

/** Brands and what they make: [category, products, size system, base price]. */
const BRANDS = [
  ["northwind", "Northwind Athletics", [["sneakers", 30, "footwear", 110], ["running", 30, "footwear", 140]]],
  ["alder", "Alder & Co", [["tees", 20, "apparel", 35], ["hoodies", 20, "apparel", 79], ["knitwear", 20, "apparel", 99]]],
  ["kestrel", "Kestrel Outdoor", [["jackets", 30, "apparel", 220], ["boots", 30, "footwear", 180]]],
  ["marlow", "Marlow Denim", [["denim", 40, "denim", 120], ["shirts", 20, "apparel", 69]]],
  ["solstice", "Solstice", [["sneakers", 40, "footwear", 95], ["caps", 20, "one", 29]]],
];

const MODELS = ["Aurora", "Basalt", "Cirrus", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris", "Juniper", "Kite", "Lumen", "Meridian", "Nimbus", "Orbit", "Pioneer", "Quartz", "Ridge", "Summit", "Tundra"];
const COLOURS = ["black", "white", "navy", "olive", "sand", "rust", "grey", "forest"];
const FIRST = ["Ava", "Ben", "Clara", "David", "Elif", "Finn", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Luca"];
const LAST = ["Schmidt", "Jansen", "Rossi", "Nielsen", "Dubois", "Novak", "Berg", "Keller", "Moreau", "Larsen", "Weber", "Costa"];

const pad = (n, width) => String(n).padStart(width, "0");
const round2 = (x) => Math.round(x * 100) / 100;

/**
 * The retailer: 24 shops (18 stores, 4 warehouses, 2 online), 5 brands, 300 products, 1,790 sizes,
 * 30,430 inventory items each with a recommendation, 12 customers and 20 subscriptions.
 * `scale` (0 < scale ≤ 1) keeps that share of each brand's products, for quick tests.
 */
export function demoData({ scale = 1 } = {}) {
  const r = generator(20261122);
  const shops = [
    ...STORES.map(([slug, name, region]) => ({ id: `store_${slug}`, name, kind: "store", region, tags: ["store", region] })),
    ...WAREHOUSES.map(([slug, name, region]) => ({ id: `wh_${slug}`, name, kind: "warehouse", region, tags: ["warehouse", region] })),
    ...ONLINE.map(([slug, name, region]) => ({ id: `online_${slug}`, name, kind: "online", region, tags: ["online", region] })),
  ];
  const stores = shops.filter((s) => s.kind === "store");
  const alwaysStocked = shops.filter((s) => s.kind !== "store");

  const brands = BRANDS.map(([slug, name, lines]) => ({ id: `brand_${slug}`, name, tags: [...new Set(lines.map(([c]) => c))] }));
  const products = [];
  const variants = [];
  const items = [];
  const recommendations = [];
  let productNo = 0;
  for (const [slug, , lines] of BRANDS) {
    for (const [category, count, sizeSystem, basePrice] of lines) {
      const n = Math.max(1, Math.ceil(count * scale));
      for (let k = 0; k < n; k++) {
        productNo += 1;
        const season = r.chance(0.45) ? "aw26" : "ss26";
        const price = round2(Math.round(basePrice * (0.8 + r.next() * 0.5)) - 0.01);
        const cost = round2(price * (0.35 + r.next() * 0.25));
        const product = {
          id: `prod_${pad(productNo, 3)}`,
          brand_id: `brand_${slug}`,
          name: `${r.pick(MODELS)} ${category === "denim" ? "jeans" : category.replace(/s$/, "")} ${pad(productNo, 3)}`,
          category,
          supplier_id: `sup_${pad(r.int(1, 12), 2)}`,
          price,
          cost,
          colour: r.pick(COLOURS),
          season,
          tags: [category, season, ...(r.chance(0.15) ? ["limited"] : [])],
        };
        products.push(product);
        // Each product is in 11 of the 18 stores, and in every warehouse and online shop.
        const start = r.int(0, stores.length - 1);
        const inStores = Array.from({ length: 11 }, (_, i) => stores[(start + i * 5) % stores.length]);
        const sizes = SIZES[sizeSystem];
        sizes.forEach((size, si) => {
          // Middle sizes sell best: they get the higher targets.
          const popularity = 1 - Math.abs(si - (sizes.length - 1) / 2) / sizes.length;
          const variant = {
            id: `var_${pad(productNo, 3)}_${size.replace(/\s+/g, "").toLowerCase()}`,
            product_id: product.id,
            size,
            sku: `${slug.slice(0, 3).toUpperCase()}-${pad(productNo, 3)}-${size.replace(/\s+/g, "")}`,
            ...(size === "XXL" ? { price: round2(price * 1.1) } : {}),
            tags: [category],
          };
          variants.push(variant);
          for (const shop of [...alwaysStocked, ...inStores]) {
            const target =
              shop.kind === "store"
                ? Math.max(1, Math.round(6 * popularity) + r.int(-1, 1))
                : shop.kind === "warehouse"
                  ? Math.round(60 * popularity) + r.int(0, 20)
                  : Math.round(25 * popularity) + r.int(0, 8);
            const onHand =
              shop.kind === "store"
                ? r.chance(0.15)
                  ? 0
                  : r.int(0, target + 4)
                : Math.round(target * (0.4 + r.next() * 1.4));
            const onOrder = r.chance(0.2) ? r.int(1, Math.max(1, Math.round(target / 2))) : 0;
            const item = {
              id: `inv_${pad(productNo, 3)}_${size.replace(/\s+/g, "").toLowerCase()}_${shop.id}`,
              variant_id: variant.id,
              shop_id: shop.id,
              on_hand: onHand,
              on_order: onOrder,
              target,
              tags: [category, shop.kind],
            };
            items.push(item);
            const gap = target - onHand - onOrder;
            // The decision vector: for last season's products, clear the stock; otherwise refill the gap.
            recommendations.push({
              id: `rec_${item.id.slice(4)}`,
              inventory_item_id: item.id,
              score: round2(Math.min(1, Math.max(0, 0.5 + gap / (2 * Math.max(target, 1)) + (r.next() - 0.5) * 0.3))),
              quantity: season === "aw26" ? onHand : Math.max(0, gap + r.int(0, 2)),
              discount_percent: season === "aw26" ? r.int(10, 45) : r.int(0, 20),
              model: "demand-v3",
            });
          }
        });
      }
    }
  }

  const customers = FIRST.map((first, i) => ({
    id: `cust_${pad(i + 1, 2)}`,
    email: `${first.toLowerCase()}.${LAST[i].toLowerCase()}@example.com`,
    name: `${first} ${LAST[i]}`,
    tags: i % 3 === 0 ? ["vip"] : [],
  }));
  const statuses = ["pending", "pending", "pending", "delivered", "engaged", "converted", "completed", "cancelled"];
  const subscriptions = Array.from({ length: 20 }, (_, i) => ({
    id: `sub_${pad(i + 1, 2)}`,
    customer_id: customers[i % customers.length].id,
    variant_id: variants[(i * 97) % variants.length].id,
    status: statuses[i % statuses.length],
    channel: i % 4 === 0 ? "push" : "email",
    // Fixed, so that the data set stays deterministic: one sign-up an hour from 1 October 2026.
    created_at: new Date(Date.UTC(2026, 9, 1) + i * 3_600_000).toISOString(),
  }));

  return { shops, brands, products, variants, items, recommendations, customers, subscriptions };
}

/** The three example workflows (SPEC §7, §9): a restock, a rebalance and a markdown. */
export function demoWorkflows() {
  return [
    {
      name: "Restock low sneakers",
      description:
        "When a sneaker size runs low in a shop, fill every low size of that model in that shop up to target, on today's restock plan.",
      trigger: {
        entity: "inventory_item",
        events: ["created", "updated"],
        tags: { include: ["sneakers"], exclude: ["warehouse"], match: "any" },
        conditions: { all: [{ left: "{{trigger.data.on_hand}}", op: "lt", right: 3 }] },
      },
      start: "plan",
      nodes: [
        {
          id: "plan",
          name: "Today's restock plan",
          type: "create_or_get_plan",
          config: { kind: "restock", name: "Sneaker restock {{today}}", deadline: { type: "relative", days: 2 } },
          next: "items",
        },
        {
          id: "items",
          name: "Low sizes of the model, in this shop",
          type: "add_items_to_plan",
          config: {
            plan: "{{steps.plan.output.plan_id}}",
            filter: { entity: "product", from_trigger: true },
            shops: { mode: "from_trigger" },
            sizes: { mode: "below_threshold", threshold: 3 },
            quantity: { strategy: "fill_to_target" },
          },
          retry: { max_attempts: 5, backoff: "exponential", initial_delay_ms: 1000, max_delay_ms: 60000 },
        },
      ],
    },
    {
      name: "Rebalance sold-out sizes",
      description: "When a store sells its last unit of a size, move stock of that size from shops with surplus to the shops that lack it most.",
      trigger: {
        entity: "inventory_item",
        events: ["updated"],
        tags: { include: ["store"], match: "any" },
        conditions: {
          all: [
            { left: "{{trigger.previous.on_hand}}", op: "gt", right: 0 },
            { left: "{{trigger.data.on_hand}}", op: "eq", right: 0 },
          ],
        },
      },
      start: "wanted",
      nodes: [
        {
          id: "wanted",
          name: "Does the store keep this size?",
          type: "condition",
          config: { all: [{ left: "{{trigger.data.target}}", op: "gt", right: 0 }] },
          then: "plan",
        },
        {
          id: "plan",
          type: "create_or_get_plan",
          config: { kind: "rebalance", name: "Rebalance {{today}}", deadline: { type: "relative", days: 1 } },
          next: "transfers",
        },
        {
          id: "transfers",
          name: "Surplus to deficit, best-selling shops first",
          type: "add_items_to_plan",
          config: {
            plan: "{{steps.plan.output.plan_id}}",
            filter: { entity: "product_variant", from_trigger: true },
            matching: { strategy: "score" },
          },
        },
      ],
    },
    {
      name: "Mark down end-of-season products",
      description:
        "When a product is tagged end-of-season, mark down every size in every shop by its recommended discount, keeping a 15% margin.",
      trigger: { entity: "product", events: ["updated"], tags: { include: ["end-of-season"], match: "any" } },
      start: "plan",
      nodes: [
        {
          id: "plan",
          type: "create_or_get_plan",
          config: { kind: "markdown", name: "Markdown {{trigger.data.name}}", deadline: { type: "relative", days: 14 } },
          next: "items",
        },
        {
          id: "items",
          name: "Recommended discounts, margin floor 15%",
          type: "add_items_to_plan",
          config: {
            plan: "{{steps.plan.output.plan_id}}",
            filter: { entity: "product", from_trigger: true },
            quantity: { strategy: "score", min_score: 0 },
            discount: { strategy: "recommended", margin_floor: 0.15, min_percent: 10, max_percent: 50 },
            markdown_date: { type: "interpolated", value: "{{steps.plan.output.deadline}}", offset_days: -7 },
          },
        },
      ],
    },
  ];
}

export const SCENARIOS = {
  restock: { workflow: "Restock low sneakers", plan_kind: "restock", entity: "inventory_item" },
  rebalance: { workflow: "Rebalance sold-out sizes", plan_kind: "rebalance", entity: "inventory_item" },
  markdown: { workflow: "Mark down end-of-season products", plan_kind: "markdown", entity: "product" },
};

/**
 * The event that triggers a scenario's workflow, built from an entity's current snapshot:
 * a sneaker size in a store drops to 1; a store sells its last unit; a product is tagged end-of-season.
 */
export function scenarioEvent(scenario, snapshot, now = new Date()) {
  const { previous: _p, occurred_at: _o, deleted: _d, ...data } = snapshot;
  const change =
    scenario === "restock"
      ? { on_hand: 1 }
      : scenario === "rebalance"
        ? { on_hand: 0 }
        : { tags: [...new Set([...(data.tags ?? []), "end-of-season"])] };
  const entity = SCENARIOS[scenario].entity;
  return {
    id: `evt_demo_${scenario}_${now.getTime().toString(36)}`,
    type: `${entity}.updated`,
    entity_id: data.id,
    occurred_at: now.toISOString(),
    data: { ...data, ...change },
  };
}

/** Whether a snapshot is a good subject for a scenario (see scenarioEvent). */
export function fitsScenario(scenario, snapshot) {
  if (scenario === "restock") return snapshot.shop_id?.startsWith("store_") && snapshot.on_hand >= 3;
  if (scenario === "rebalance") return snapshot.shop_id?.startsWith("store_") && snapshot.on_hand > 0 && snapshot.target > 0;
  return !(snapshot.tags ?? []).includes("end-of-season");
}
