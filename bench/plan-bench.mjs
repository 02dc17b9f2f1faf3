// add_items_to_plan under load, through the public API only: load N candidate inventory items
// (with recommendations), then for each strategy family run a workflow `create_or_get_plan →
// add_items_to_plan` as a test run and time it to completion. D1 rows read and written come from
// GET /api/metrics (the isolate's counters). Memory two ways: the peak V8 heap of the Worker's
// isolate (what the 128 MB limit applies to), sampled over the inspector protocol, and the peak
// resident size of the whole local runtime process (workerd, which also holds the local D1).
//
// Targets (issue 4): 100,000 candidates in ≤ 10 s, never above 128 MB, D1 rows read ≤ 2× the
// candidates; 10,000 candidates in ≤ 1 s.
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { processTree, usage } from "./lib.mjs";

const SHOPS = 20;
const SIZES_PER_PRODUCT = 10;
const ROWS_PER_REQUEST = 10_000;

const CASES = [
  { case: "quantity fixed", kind: "restock", config: { quantity: { strategy: "fixed", quantity: 2 } } },
  { case: "quantity fill_to_target", kind: "restock", config: { quantity: { strategy: "fill_to_target" } } },
  { case: "quantity score", kind: "restock", config: { quantity: { strategy: "score", min_score: 0.3 } } },
  { case: "rebalance score matching", kind: "rebalance", config: { matching: { strategy: "score" } } },
  {
    case: "markdown recommended",
    kind: "markdown",
    config: { discount: { strategy: "recommended", margin_floor: 0.2, min_percent: 5, max_percent: 50 }, markdown_date: { type: "relative", days: 7 } },
  },
];

function client(baseUrl, token) {
  return async function call(method, path, body, contentType = "application/json") {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": contentType }) },
      body,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : undefined;
  };
}

/** A brand whose products, sizes and shops hold exactly `n` inventory items (n a multiple of 200). */
function catalog(prefix, n) {
  const products = Math.ceil(n / (SHOPS * SIZES_PER_PRODUCT));
  const brand = { id: `${prefix}_brand`, name: `Bench brand ${prefix}` };
  const rows = { product: [], product_variant: [], inventory_item: [], recommendation: [] };
  let made = 0;
  for (let p = 0; p < products && made < n; p++) {
    const productId = `${prefix}_p${String(p).padStart(5, "0")}`;
    rows.product.push({ id: productId, brand_id: brand.id, name: `Product ${p}`, price: 100, cost: 40 + (p % 40) });
    for (let v = 0; v < SIZES_PER_PRODUCT && made < n; v++) {
      const variantId = `${productId}_v${v}`;
      rows.product_variant.push({ id: variantId, product_id: productId, size: String(36 + v) });
      for (let s = 0; s < SHOPS && made < n; s++, made++) {
        const id = `${variantId}_s${String(s).padStart(2, "0")}`;
        const onHand = (p * 7 + v * 3 + s * 5) % 13;
        rows.inventory_item.push({ id, variant_id: variantId, shop_id: `${prefix}_shop${s}`, on_hand: onHand, on_order: s % 3, target: 6 });
        rows.recommendation.push({
          id: `${id}_rec`,
          inventory_item_id: id,
          score: ((p + v + s) % 100) / 100,
          quantity: (p + s) % 5,
          discount_percent: (p * s) % 60,
        });
      }
    }
  }
  return { brand, rows };
}

const counters = (m) => m?.counters ?? { d1_rows_read: m?.d1?.rows_read, d1_rows_written: m?.d1?.rows_written };

/** The inspector port `npm start` gave wrangler (INSPECTOR_PORT), read from the product's command lines. */
function inspectorPortOf(pgid) {
  for (const p of processTree(pgid)) {
    try {
      const argv = readFileSync(`/proc/${p.pid}/cmdline`, "utf8").split("\0");
      const i = argv.indexOf("--inspector-port");
      if (i >= 0 && argv[i + 1]) return Number(argv[i + 1]);
    } catch {}
  }
  return undefined;
}

/**
 * Samples the Worker isolate's V8 heap (Runtime.getHeapUsage over the DevTools protocol) until
 * stopped; resolves to the peak in MiB, or null when the inspector cannot be reached.
 */
function heapSampler(port, everyMs = 100) {
  if (!port || typeof WebSocket === "undefined") return { stop: async () => null };
  let peak = 0;
  let seen = false;
  let timer;
  let ws;
  try {
    // wrangler's inspector proxy insists on an Origin header.
    ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { Origin: `http://127.0.0.1:${port}` } });
  } catch {
    return { stop: async () => null };
  }
  let id = 0;
  ws.onopen = () => {
    const ask = () => ws.readyState === 1 && ws.send(JSON.stringify({ id: ++id, method: "Runtime.getHeapUsage" }));
    ask();
    timer = setInterval(ask, everyMs);
  };
  ws.onmessage = (m) => {
    try {
      const used = JSON.parse(String(m.data))?.result?.usedSize;
      if (typeof used === "number") {
        seen = true;
        peak = Math.max(peak, used);
      }
    } catch {}
  };
  ws.onerror = () => {};
  return {
    async stop() {
      await sleep(everyMs);
      clearInterval(timer);
      try {
        ws.close();
      } catch {}
      return seen ? Math.round((peak / 1024 / 1024) * 10) / 10 : null;
    },
  };
}

/**
 * Runs the planning benchmark and returns one row per (size, case):
 * {case, candidates, wall_ms, d1_rows_read, d1_rows_written, peak_heap_mb, peak_rss_mb, ...}.
 */
export async function benchPlanning({ baseUrl, token, sizes = [10_000, 100_000], pgid, inspectorPort, timeoutMs = 300_000, log = console.log }) {
  const call = client(baseUrl, token);
  const port = inspectorPort ?? (pgid ? inspectorPortOf(pgid) : undefined);
  const metrics = async () => {
    try {
      return counters(await call("GET", "/api/metrics"));
    } catch {
      return {}; // no metrics endpoint: the D1 columns stay null
    }
  };
  const rows = [];
  for (const n of sizes) {
    const prefix = `bench${n}_${Date.now().toString(36)}`;
    const { brand, rows: data } = catalog(prefix, n);
    const loadStarted = Date.now();
    await call("PUT", "/api/entities/brand", JSON.stringify([brand]));
    for (const [kind, list] of Object.entries(data)) {
      for (let i = 0; i < list.length; i += ROWS_PER_REQUEST) {
        await call("PUT", `/api/entities/${kind}`, list.slice(i, i + ROWS_PER_REQUEST).map((r) => JSON.stringify(r)).join("\n"), "application/x-ndjson");
      }
    }
    log(`planning: loaded ${n} candidate items in ${((Date.now() - loadStarted) / 1000).toFixed(1)} s`);

    for (const c of CASES) {
      const definition = {
        name: `bench ${c.case} ${prefix}`,
        trigger: { entity: "brand", events: ["updated"] },
        start: "plan",
        nodes: [
          { id: "plan", type: "create_or_get_plan", config: { kind: c.kind, name: `bench ${c.case} ${prefix}` }, next: "items" },
          {
            id: "items",
            type: "add_items_to_plan",
            config: { plan: "{{steps.plan.output.plan_id}}", filter: { entity: "brand", from_trigger: true }, ...c.config },
            timeout_ms: 900_000,
          },
        ],
      };
      const wf = await call("POST", "/api/workflows", JSON.stringify(definition));
      const before = await metrics();
      const heap = heapSampler(port);
      let peak = pgid ? usage(pgid).workerdRss : null;
      const sampler = pgid ? setInterval(() => (peak = Math.max(peak, usage(pgid).workerdRss)), 100) : null;
      const started = performance.now();
      let run;
      try {
        const { id } = await call(
          "POST",
          `/api/workflows/${wf.id}/test`,
          JSON.stringify({ type: "brand.updated", entity_id: brand.id, data: brand }),
        );
        const deadline = Date.now() + timeoutMs;
        do {
          await sleep(50);
          run = await call("GET", `/api/runs/${id}`);
        } while (!["completed", "failed", "cancelled"].includes(run.status) && Date.now() < deadline);
      } finally {
        if (sampler) clearInterval(sampler);
      }
      const peakHeap = await heap.stop();
      const wallMs = performance.now() - started;
      const after = await metrics();
      const output = run?.steps?.find((s) => s.node_id === "items")?.output ?? {};
      // A counter appears with the isolate's first D1 statement: absent before means 0.
      const delta = (key) => (after[key] === undefined ? null : after[key] - (before[key] ?? 0));
      const row = {
        case: c.case,
        candidates: n,
        wall_ms: Math.round(wallMs),
        d1_rows_read: delta("d1_rows_read"),
        d1_rows_written: delta("d1_rows_written"),
        peak_heap_mb: peakHeap,
        peak_rss_mb: peak === null ? null : Math.round(peak),
        status: run?.status ?? "timeout",
        lines: (output.added ?? 0) + (output.updated ?? 0),
        invocations: output.invocations ?? null,
        reads_per_candidate: delta("d1_rows_read") === null ? null : Math.round((delta("d1_rows_read") / n) * 100) / 100,
      };
      rows.push(row);
      log(
        `planning: ${c.case} over ${n}: ${row.status} in ${row.wall_ms} ms, ${row.lines} lines, ` +
          `${row.d1_rows_read ?? "?"} rows read, ${row.d1_rows_written ?? "?"} written, isolate heap ≤ ${row.peak_heap_mb ?? "?"} MB, workerd RSS ≤ ${row.peak_rss_mb ?? "?"} MB`,
      );
    }
  }
  return rows;
}
