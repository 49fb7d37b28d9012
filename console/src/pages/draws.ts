// 幸运抽奖 Lucky draws: the list (GET /admin/draws) and one draw (#/draws/<id>): its prizes,
// window, seed commitment and stats (GET /admin/draws/{id}/stats); once closed, "公开种子"
// (POST /admin/draws/{id}/reveal, Idempotency-Key) shows the seed, checks it against the
// commitment in the browser and says how to verify every outcome (docs/draws.md).
import { call } from "../api";
import { bind } from "../i18n";
import { h, tr } from "../dom";
import { messages, num } from "./common";

type Doc = Record<string, any>;
interface DrawRec { draw_id: string; version: number; doc: Doc; commitment: string;
  opens_at?: string | null; closes_at?: string | null; revealed_at?: string | null;
  updated_at?: string | null; updated_by?: string | null }
interface PrizeStat { id: string; kind: string; won: number; stock: number | null;
  stock_left: number | null }
interface Stats { entries: number; prizes: PrizeStat[]; budget: { points?: number | null;
  fen?: number | null }; budget_spent: { points: number; fen: number } }
interface Revealed { seed?: string | null; commitment: string; revealed_at?: string | null }

const yuan = (fen: number | null | undefined): string =>
  fen === null || fen === undefined ? "—" : `¥${(fen / 100).toLocaleString()}`;
/** An ISO time with its offset, readable: 2027-01-28 10:00 +08:00. */
const at = (iso?: string | null): string => iso
  ? iso.replace("T", " ").replace(/:\d\d(\.\d+)?(?=[+-]\d\d:\d\d|Z|$)/, " ").replace(/ Z$/, " UTC").trim()
  : "—";

export function drawStatus(doc: Doc, now = Date.now()): "scheduled" | "open" | "closed" {
  const opens = Date.parse(doc.window?.opens_at), closes = Date.parse(doc.window?.closes_at);
  return now >= closes ? "closed" : now >= opens ? "open" : "scheduled";
}

/** Both names, the page language's one shown (style.css `.both`). */
function name(n: Doc | undefined, fallback: string): HTMLElement {
  return h("span", { class: "both" }, h("span", { lang: "zh-CN" }, n?.zh ?? fallback),
    h("span", { lang: "en" }, n?.en ?? n?.zh ?? fallback));
}

function statusBadge(doc: Doc): HTMLElement {
  const s = drawStatus(doc);
  return tr("span", `draws.s.${s}`, { class: `badge draw-${s}` });
}

async function listPage(main: HTMLElement): Promise<void> {
  const m = messages();
  const body = h("tbody");
  const count = h("p", { class: "muted", id: "count", "aria-live": "polite" });
  const more = tr("button", "draws.more", { type: "button", hidden: true });
  let cursor: string | null = null;
  const load = async (): Promise<void> => {
    const q = new URLSearchParams({ limit: "50" });
    if (cursor) q.set("cursor", cursor);
    try {
      const page: { items: DrawRec[]; next_cursor: string | null } =
        await call("GET", `/admin/draws?${q}`);
      body.append(...page.items.map((d) => h("tr", { "data-draw": d.draw_id },
        h("th", { scope: "row" }, h("a", { href: `#/draws/${encodeURIComponent(d.draw_id)}` },
          name(d.doc?.name, d.draw_id)), " ", h("code", {}, d.draw_id)),
        h("td", {}, statusBadge(d.doc)),
        h("td", {}, at(d.doc?.window?.opens_at), " – ", at(d.doc?.window?.closes_at)),
        h("td", { class: "num" }, String(d.doc?.prizes?.length ?? 0)),
        h("td", { class: "num" }, String(d.version)),
        h("td", {}, d.revealed_at ? at(d.revealed_at) : "—"))));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      bind(count, body.children.length ? "draws.count" : "draws.empty", { n: body.children.length });
    } catch (e) { m.fail(e); }
  };
  more.addEventListener("click", () => void load());
  main.replaceChildren(tr("h1", "draws.title"), tr("p", "draws.intro", { class: "muted" }),
    m.notice, m.alert, count,
    h("div", { class: "table-wrap" }, h("table", { class: "list", id: "draws" },
      h("thead", {}, h("tr", {}, ...["draws.name", "draws.status", "draws.window", "draws.prizes",
        "draws.version", "draws.revealedAt"].map((k) => tr("th", k, { scope: "col" })))), body)),
    more);
  await load();
}

/** A prize's value: points, coupon face value or gift cost (fen), or nothing. */
function prizeValue(p: Doc): Node | string {
  if (p.kind === "points") return tr("span", "draws.points", {}, { n: num(p.amount) });
  if (p.kind === "coupon") return h("span", {}, yuan(p.face_value), " ", h("code", {}, p.template_id));
  if (p.kind === "gift") return h("span", {}, yuan(p.cost), " ", h("code", {}, p.sku));
  return "—";
}

function prizesTable(doc: Doc, stats: Stats): HTMLElement {
  const total = (doc.prizes as Doc[]).reduce((s, p) => s + Number(p.weight), 0) || 1;
  const byId = new Map(stats.prizes.map((p) => [p.id, p]));
  const cols = ["draws.prize", "draws.kind", "draws.value", "draws.chance", "draws.stock",
    "draws.won", "draws.stockLeft"];
  return h("div", { class: "table-wrap" }, h("table", { class: "list", id: "prizes",
    "aria-labelledby": "prizes-title" },
  h("thead", {}, h("tr", {}, ...cols.map((k) => tr("th", k, { scope: "col" })))),
  h("tbody", {}, ...(doc.prizes as Doc[]).map((p) => {
    const s = byId.get(p.id);
    return h("tr", { "data-prize": p.id },
      h("th", { scope: "row" }, name(p.name, p.id), " ", h("code", {}, p.id)),
      h("td", {}, tr("span", `draws.k.${p.kind}`)), h("td", {}, prizeValue(p)),
      h("td", { class: "num" }, `${((100 * p.weight) / total).toFixed(2)}%`),
      h("td", { class: "num" }, p.stock === null || p.stock === undefined ? "∞" : num(p.stock)),
      h("td", { class: "num", "data-won": p.id }, num(s?.won)),
      h("td", { class: "num" }, s?.stock_left === null || s?.stock_left === undefined ? "∞"
        : num(s.stock_left)));
  }))));
}

function facts(rec: DrawRec, stats: Stats): HTMLElement {
  const d = rec.doc;
  const budget = (spent: string, of: string): string => of === "—" ? spent : `${spent} / ${of}`;
  const pair = (key: string, value: Node | string): Node[] => [tr("dt", key), h("dd", {}, value)];
  return h("dl", { class: "facts", id: "draw-facts" },
    ...pair("draws.status", statusBadge(d)),
    ...pair("draws.window", `${at(d.window?.opens_at)} – ${at(d.window?.closes_at)}`),
    ...pair("draws.timezone", d.timezone ?? "Asia/Shanghai"),
    ...pair("draws.entryCost", d.entry?.cost_points === null || d.entry?.cost_points === undefined
      ? tr("span", "draws.grantedOnly") : tr("span", "draws.points", {}, { n: num(d.entry.cost_points) })),
    ...pair("draws.limits", tr("span", "draws.limitsValue", {}, {
      day: d.limits?.per_day ?? "—", total: d.limits?.total ?? "—" })),
    ...pair("draws.entries", h("span", { id: "draw-entries" }, num(stats.entries))),
    ...pair("draws.budgetPoints", budget(num(stats.budget_spent.points),
      stats.budget.points === null || stats.budget.points === undefined ? "—" : num(stats.budget.points))),
    ...pair("draws.budgetFen", budget(yuan(stats.budget_spent.fen), yuan(stats.budget.fen))),
    ...pair("draws.version", tr("span", "draws.versionValue", {}, {
      v: rec.version, when: at(rec.updated_at), who: rec.updated_by ?? "—" })));
}

async function sha256hex(hex: string): Promise<string | null> {
  if (!globalThis.crypto?.subtle || !/^([0-9a-f]{2})+$/i.test(hex)) return null;
  const bytes = Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The seed box: the commitment always; the reveal button once closed; the seed after it. */
function fairness(rec: DrawRec, m: ReturnType<typeof messages>): HTMLElement {
  const id = rec.draw_id;
  const out = h("div", { id: "draw-seed", "aria-live": "polite" });
  const show = async (r: Revealed): Promise<void> => {
    const check = r.seed ? await sha256hex(r.seed) : null;
    out.replaceChildren(h("dl", { class: "facts" },
      tr("dt", "draws.seed"), h("dd", {}, h("code", { id: "seed-value" }, r.seed ?? "—")),
      tr("dt", "draws.revealedAt"), h("dd", {}, at(r.revealed_at))),
    check === null ? "" : tr("p", check === r.commitment ? "draws.seedMatches" : "draws.seedMismatch",
      { class: check === r.commitment ? "notice" : "alert", id: "seed-check" }),
    tr("p", "draws.verifyHow"),
    h("pre", {}, h("code", { id: "verify-cmd" }, `perks draws verify ${id}`)),
    tr("p", "draws.verifyOffline", { class: "muted" }),
    h("pre", {}, h("code", {}, `perks draws verify ${id} --file campaigns/draws/${id}.json \\\n` +
      `    --seed ${r.seed ?? "<seed>"} --commitment ${r.commitment} --log entries.jsonl`)));
  };
  if (drawStatus(rec.doc) !== "closed") {
    out.append(tr("p", "draws.notClosed", { class: "muted" }, { at: at(rec.doc.window?.closes_at) }));
    return out;
  }
  const button = tr("button", "draws.reveal", { type: "button", class: "primary", id: "reveal" });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await show(await call<Revealed>("POST", `/admin/draws/${encodeURIComponent(id)}/reveal`));
      m.say("draws.revealed", { id });
    } catch (e) { m.fail(e); button.disabled = false; }
  });
  out.append(rec.revealed_at ? tr("p", "draws.alreadyRevealed", { class: "muted" },
    { at: at(rec.revealed_at) }) : tr("p", "draws.revealHint", { class: "muted" }), button);
  return out;
}

async function detailPage(main: HTMLElement, id: string): Promise<void> {
  const m = messages();
  const back = tr("a", "draws.back", { href: "#/draws", class: "back" });
  main.replaceChildren(back, tr("h1", "draws.title"), m.notice, m.alert);
  const path = `/admin/draws/${encodeURIComponent(id)}`;
  let rec: DrawRec, stats: Stats;
  try {
    [rec, stats] = await Promise.all([call<DrawRec>("GET", path), call<Stats>("GET", `${path}/stats`)]);
  } catch (e) { m.fail(e); return; }
  const section = (key: string, sid: string, ...kids: (Node | string)[]): HTMLElement =>
    h("section", { class: "card", "aria-labelledby": sid }, tr("h2", key, { id: sid }), ...kids);
  main.replaceChildren(back,
    h("h1", {}, name(rec.doc.name, id), " ", h("code", {}, id)), m.notice, m.alert,
    h("div", { class: "cards" },
      section("draws.summary", "summary-title", facts(rec, stats)),
      section("draws.fairness", "fairness-title",
        h("dl", { class: "facts" }, tr("dt", "draws.commitment"),
          h("dd", {}, h("code", { id: "commitment" }, rec.commitment)),
          tr("dt", "draws.algorithm"), h("dd", {}, h("code", {}, "sha256(seed bytes)"))),
        tr("p", "draws.commitHint", { class: "muted" }), fairness(rec, m))),
    h("section", { "aria-labelledby": "prizes-title" }, tr("h2", "draws.prizesTitle", { id: "prizes-title" }),
      prizesTable(rec.doc, stats)));
}

export async function drawsPage(main: HTMLElement, id: string | null): Promise<void> {
  if (id) await detailPage(main, id);
  else await listPage(main);
}
