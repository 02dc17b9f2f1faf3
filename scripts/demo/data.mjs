// The demo retailer: a deterministic data set (same seed, same rows, every time) and the six
// example workflows. Pure: no I/O, so tests can check it and scripts can load it.
import { demoPushKeys, demoPushOrigin } from "./push-keys.mjs";

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

// Customers' names, with the letters a European retailer's customers have (and a few beyond).
const FIRST_NAMES = [
  "Ava", "Ben", "Clara", "David", "Elif", "Finn", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Luca", "Zoë", "Jürgen", "Søren",
  "Chloé", "Björn", "Łukasz", "Małgorzata", "José", "Ayşe", "Dóra", "Renée", "François", "Mårten", "Ângela", "Tomáš", "Niamh",
  "Jiří", "Ελένη", "Ольга", "美咲", "Noor", "Ruairí", "Siobhán", "Çağla",
];
const LAST_NAMES = [
  "Schmidt", "Jansen", "Rossi", "Nielsen", "Dubois", "Novak", "Berg", "Keller", "Moreau", "Larsen", "Weber", "Costa", "Müller",
  "Øster", "Lefèvre", "Wójcik", "Åkesson", "García", "Yılmaz", "Dvořák", "Ó Briain", "Šimić", "Παπαδοπούλου", "Смирнова",
  "佐藤", "van der Berg", "Fernández", "Kovačević", "Þórsdóttir", "Große",
];
/** Every 36th size is sold out in every shop (about 50 of the 1,790). */
const SOLD_OUT_EVERY = 36;
/** Customers wait for the first sold-out size in any shop: `npm run demo:event -- back-in-stock` restocks it. */
export const FEATURED_WAITLIST = 40;
const DAY = 86_400_000;
/** Sign-ups, notifications and orders happen in the weeks before 22 November 2026 (fixed: the data set stays deterministic). */
const EPOCH = Date.UTC(2026, 8, 20);

const pad = (n, width) => String(n).padStart(width, "0");
/** An address from a name: ASCII letters of it where there are some, else the customer number. */
function emailOf(name, n) {
  const ascii = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[łŁ]/g, "l")
    .replace(/[øØ]/g, "o")
    .replace(/[þÞ]/g, "th")
    .replace(/ß/g, "ss")
    .toLowerCase()
    .replace(/[^a-z ]/g, "")
    .trim()
    .replace(/\s+/g, ".");
  return `${/^[a-z]+\.[a-z.]+$/.test(ascii) ? ascii : "customer"}.${pad(n, 4)}@example.com`;
}
const round2 = (x) => Math.round(x * 100) / 100;

/**
 * The retailer: 24 shops (18 stores, 4 warehouses, 2 online), 5 brands, 300 products, 1,790 sizes,
 * 30,430 inventory items each with a recommendation; 320 customers, 583 back-in-stock subscriptions
 * (463 of them waiting for the 50 sizes sold out in every shop) and 251 orders.
 * `scale` (0 < scale ≤ 1) keeps that share of each brand's products, for quick tests. The
 * customers' push subscriptions point at the local push service on `pushOrigin`, each with keys of
 * its own (push-keys.mjs).
 */
export function demoData({ scale = 1, pushOrigin = demoPushOrigin() } = {}) {
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
  /** The sizes sold out in every shop, with their product and the stores that carry them. */
  const soldOutSizes = [];
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
          // Every 36th size is sold out everywhere (on_hand 0 in every shop): customers wait for it.
          const soldOut = variants.length % SOLD_OUT_EVERY === 7 % SOLD_OUT_EVERY;
          if (soldOut) soldOutSizes.push({ variant, product, stores: inStores.map((s) => s.id) });
          for (const shop of [...alwaysStocked, ...inStores]) {
            const target =
              shop.kind === "store"
                ? Math.max(1, Math.round(6 * popularity) + r.int(-1, 1))
                : shop.kind === "warehouse"
                  ? Math.round(60 * popularity) + r.int(0, 20)
                  : Math.round(25 * popularity) + r.int(0, 8);
            const stocked =
              shop.kind === "store"
                ? r.chance(0.15)
                  ? 0
                  : r.int(0, target + 4)
                : Math.round(target * (0.4 + r.next() * 1.4));
            // Drawn anyway, so that the rest of the data set is the same with or without sold-out sizes.
            const onHand = soldOut ? 0 : stocked;
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

  const { customers, subscriptions, orders } = backInStockData(r, { variants, products, soldOutSizes, scale, pushOrigin });
  return { shops, brands, products, variants, items, recommendations, customers, subscriptions, orders };
}

/**
 * The back-in-stock side (SPEC §12): customers (some with a browser for Web Push, some VIP),
 * their subscriptions — pending ones on the sold-out sizes, older ones through the whole lifecycle —
 * and orders, among them the purchases of the converted subscriptions.
 */
function backInStockData(r, { variants, products, soldOutSizes, scale, pushOrigin }) {
  const productOf = new Map(products.map((p) => [p.id, p]));
  const priceOf = (v) => v.price ?? productOf.get(v.product_id).price;
  const customers = Array.from({ length: Math.max(24, Math.round(320 * scale)) }, (_, i) => {
    const n = i + 1;
    const name = `${r.pick(FIRST_NAMES)} ${r.pick(LAST_NAMES)}`;
    const browsers = r.chance(0.35) ? (r.chance(0.15) ? 2 : 1) : 0;
    const accepts = r.chance(0.9);
    return {
      id: `cust_${pad(n, 4)}`,
      email: emailOf(name, n),
      name,
      ...(r.chance(0.3) ? { phone: `+49 30 ${r.int(1000000, 9999999)}` } : {}),
      accepts_marketing: accepts,
      // A browser of its own per subscription: the endpoint names it, and its keys are real P-256 keys.
      push_subscriptions: Array.from({ length: browsers }, (_, k) => {
        const { p256dh, auth } = demoPushKeys(`cust_${pad(n, 4)}/${k + 1}`);
        return { endpoint: `${pushOrigin}/push/cust_${pad(n, 4)}/${k + 1}`, keys: { p256dh, auth } };
      }),
      tags: [...(r.chance(0.08) ? ["vip"] : []), ...(accepts ? ["newsletter"] : [])],
    };
  });
  const subscriptions = [];
  const at = (ms) => new Date(EPOCH + ms).toISOString();
  const subscribe = (customer, variant, fields) => {
    subscriptions.push({
      id: `sub_${pad(subscriptions.length + 1, 4)}`,
      customer_id: customer.id,
      variant_id: variant.id,
      // Push only for customers with a browser to push to.
      channel: customer.push_subscriptions.length > 0 && r.chance(0.6) ? "push" : "email",
      ...fields,
    });
  };
  // Pending: the waitlists of the sold-out sizes. Most wait for any shop, some for one store.
  soldOutSizes.forEach(({ variant, stores }, k) => {
    const waiting = k === 0 ? FEATURED_WAITLIST : r.int(2, 14);
    const who = new Set();
    for (let j = 0; j < waiting && who.size < customers.length; j++) {
      let c = r.pick(customers);
      while (who.has(c.id)) c = customers[(customers.indexOf(c) + 1) % customers.length];
      who.add(c.id);
      const store = k > 0 && r.chance(0.25) ? r.pick(stores) : undefined;
      subscribe(c, variant, { ...(store ? { shop_id: store } : {}), status: "pending", created_at: at(r.int(20, 62) * DAY + r.int(0, DAY - 1)) });
    }
  });
  // History: earlier restocks, with who was notified, clicked, bought, or gave up.
  const LATER = ["delivered", "delivered", "engaged", "converted", "converted", "completed", "cancelled"];
  const history = Math.max(12, Math.round(120 * scale));
  for (let j = 0; j < history; j++) {
    const status = LATER[j % LATER.length];
    const created = r.int(0, 40) * DAY + r.int(0, DAY - 1);
    subscribe(r.pick(customers), r.pick(variants), {
      status,
      created_at: at(created),
      ...(status === "cancelled" ? {} : { notified_at: at(created + r.int(2, 9) * DAY) }),
    });
  }
  // Orders: the purchases that converted subscriptions (first, in subscription order: see
  // demoConversions), then everyday orders (VIPs order more).
  const orders = [];
  const order = (customer, lines, ms) =>
    orders.push({
      id: `ord_${pad(orders.length + 1, 5)}`,
      customer_id: customer.id,
      lines,
      total: round2(lines.reduce((sum, l) => sum + l.quantity * l.price, 0)),
      created_at: at(ms),
    });
  const variantById = new Map(variants.map((v) => [v.id, v]));
  const customerById = new Map(customers.map((c) => [c.id, c]));
  for (const s of subscriptions) {
    if (s.status !== "converted" && s.status !== "completed") continue;
    const v = variantById.get(s.variant_id);
    order(customerById.get(s.customer_id), [{ variant_id: v.id, quantity: 1, price: priceOf(v) }], Date.parse(s.notified_at) - EPOCH + r.int(1, 3 * 24) * 3_600_000);
  }
  const vips = customers.filter((c) => c.tags.includes("vip"));
  const everyday = Math.max(20, Math.round(200 * scale));
  for (let j = 0; j < everyday; j++) {
    const customer = vips.length > 0 && r.chance(0.3) ? r.pick(vips) : r.pick(customers);
    const lines = Array.from({ length: r.int(1, 3) }, () => {
      const v = r.pick(variants);
      return { variant_id: v.id, quantity: r.int(1, 2), price: priceOf(v) };
    });
    order(customer, lines, r.int(0, 62) * DAY + r.int(0, DAY - 1));
  }
  return { customers, subscriptions, orders };
}

/**
 * The converted (and later completed) subscriptions of a data set, each with the order that
 * converted it: the first orders, one per such subscription in subscription order, as
 * backInStockData makes them. The seed sends these orders as `order.created` events, so that the
 * consumer converts the subscriptions and attributes the revenue as it does for real orders.
 */
export function demoConversions(data) {
  const converted = data.subscriptions.filter((s) => s.status === "converted" || s.status === "completed");
  return converted.map((subscription, i) => {
    const order = data.orders[i];
    if (order.customer_id !== subscription.customer_id || !order.lines.some((l) => l.variant_id === subscription.variant_id)) {
      throw new Error(`Order ${order.id} is not the purchase of ${subscription.id}: backInStockData changed`);
    }
    return { subscription, order };
  });
}

/** The shop's product page of a size, where the back-in-stock messages link to. */
const PRODUCT_URL = "https://shop.example.com/products/{{trigger.related.product.id}}?variant={{trigger.data.variant_id}}";

/**
 * The six example workflows: a restock, a rebalance and a markdown (SPEC §7, §9), and the
 * back-in-stock seed's three (SPEC §12): notify the waiting customers by their channel, tell the
 * team about VIP sign-ups, and win back those who were notified but did not buy.
 */
export function demoWorkflows() {
  return [...planningWorkflows(), ...backInStockWorkflows()];
}

export function backInStockWorkflows() {
  return [
    {
      name: "Back-in-stock notification",
      description:
        "When a sold-out size is back, tell the customers waiting for it — by push or email, as each signed up — two per unit in stock, an hour apart while stock lasts.",
      trigger: { entity: "subscription", events: ["back_in_stock"], restock: { min_stock: 1, per_unit: 2, wave_minutes: 60 } },
      start: "channel",
      nodes: [
        {
          id: "channel",
          name: "Push or email?",
          type: "condition",
          config: { all: [{ left: "{{trigger.data.channel}}", op: "eq", right: "push" }] },
          then: "push",
          else: "email",
        },
        {
          id: "push",
          name: "Push to the customer's browsers",
          type: "send_push",
          config: {
            title: "{{trigger.related.product.name}} is back",
            body: "Size {{trigger.related.product_variant.size}} is back in stock. Be quick: it sold out last time.",
            url: PRODUCT_URL,
            track_links: true,
          },
          next: "delivered",
        },
        {
          id: "email",
          name: "Email the customer",
          type: "send_email",
          config: {
            to: ["{{trigger.related.customer.email}}"],
            subject: "{{trigger.related.product.name}}, size {{trigger.related.product_variant.size}}, is back in stock",
            format: "markdown",
            body:
              "Hello {{trigger.related.customer.name}},\n\n" +
              "good news: **{{trigger.related.product.name}}** in size **{{trigger.related.product_variant.size}}** is back in stock.\n\n" +
              `[Get yours now](${PRODUCT_URL}) — it sold out fast last time.\n\n` +
              "You get this email because you asked us to tell you when it is back.",
            track_links: true,
          },
          next: "delivered",
        },
        {
          id: "delivered",
          name: "Mark the subscription delivered",
          type: "update_subscription_status",
          config: { status: "delivered" },
        },
      ],
    },
    {
      name: "VIP waiting for a size",
      description: "When a VIP customer signs up for a sold-out size, tell the team, so that they can hold one back or call.",
      trigger: { entity: "subscription", events: ["created"] },
      start: "vip",
      nodes: [
        {
          id: "vip",
          name: "Is the customer a VIP?",
          type: "condition",
          config: { all: [{ left: "{{trigger.related.customer.tags}}", op: "contains", right: "vip" }] },
          then: "tell_team",
        },
        {
          id: "tell_team",
          name: "Email the team",
          type: "send_internal_email",
          config: {
            subject: "VIP {{trigger.related.customer.name}} waits for {{trigger.related.product.name}} {{trigger.related.product_variant.size}}",
            format: "markdown",
            body:
              "**{{trigger.related.customer.name}}** ({{trigger.related.customer.email}}) signed up for " +
              "**{{trigger.related.product.name}}**, size {{trigger.related.product_variant.size}} " +
              "(variant `{{trigger.data.variant_id}}`), by {{trigger.data.channel}}.\n\n" +
              "They are tagged VIP: consider holding a unit back from the next delivery.",
          },
        },
      ],
    },
    {
      name: "Win back after back-in-stock",
      description:
        "Three days after a size is back, send a single-use 10% code to the customers who were told but have not bought it.",
      trigger: { entity: "subscription", events: ["back_in_stock"], restock: { min_stock: 1 } },
      start: "wait",
      nodes: [
        { id: "wait", name: "Give them three days", type: "wait", config: { duration: { days: 3 }, recheck_trigger: true }, next: "not_bought" },
        {
          id: "not_bought",
          name: "Notified, and not bought?",
          type: "condition",
          config: { all: [{ left: "{{trigger.data.status}}", op: "in", right: ["delivered", "engaged"] }] },
          then: "code",
        },
        {
          id: "code",
          name: "A single-use 10% code",
          type: "create_discount_code",
          config: { type: "percent", value: 10, expires: { type: "relative", days: 7 }, usage_limit: 1, prefix: "BACK", variant_ids: ["{{trigger.data.variant_id}}"] },
          next: "offer",
        },
        {
          id: "offer",
          name: "Email the code",
          type: "send_email",
          config: {
            to: ["{{trigger.related.customer.email}}"],
            subject: "10% off {{trigger.related.product.name}} — still in your size",
            format: "markdown",
            body:
              "Hello {{trigger.related.customer.name}},\n\n" +
              "**{{trigger.related.product.name}}** in size {{trigger.related.product_variant.size}} is still in stock. " +
              "Here is 10% off, for you only: **{{steps.code.output.code}}**, valid until {{steps.code.output.expires_on}}.\n\n" +
              `[Use it now](${PRODUCT_URL})`,
            track_links: true,
          },
        },
      ],
    },
  ];
}

/** The three planning examples (SPEC §7, §9): a restock, a rebalance and a markdown. */
export function planningWorkflows() {
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

/** The back-in-stock scenario: a waited-for size comes back in the online shop, and its waitlist is told in waves. */
export const BACK_IN_STOCK = { workflow: "Back-in-stock notification", shop: "online_eu", units: 10 };

/**
 * The size to restock: the one with the most pending subscriptions for any shop (ties: the
 * lowest variant id), from subscription snapshots; null when no one waits.
 */
export function backInStockSubject(subscriptions) {
  const waiting = new Map();
  for (const s of subscriptions) {
    if (s.status === "pending" && !s.shop_id && !s.deleted) waiting.set(s.variant_id, (waiting.get(s.variant_id) ?? 0) + 1);
  }
  let best = null;
  for (const [variant_id, n] of waiting) {
    if (!best || n > best.waiting || (n === best.waiting && variant_id < best.variant_id)) best = { variant_id, waiting: n };
  }
  // Demo ids: the item of a size in a shop is inv_<product>_<size>_<shop>.
  return best && { ...best, item_id: `inv_${best.variant_id.slice(4)}_${BACK_IN_STOCK.shop}` };
}

/** An inventory_item.updated event that sets a snapshot's on_hand (the platform reports stock this way). */
export function stockEvent(snapshot, onHand, now = new Date()) {
  const { previous: _p, occurred_at: _o, deleted: _d, ...data } = snapshot;
  return {
    id: `evt_demo_stock_${data.id}_${onHand}_${now.getTime().toString(36)}`,
    type: "inventory_item.updated",
    entity_id: data.id,
    occurred_at: now.toISOString(),
    data: { ...data, on_hand: onHand },
  };
}
