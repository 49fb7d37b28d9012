// Campaigns list: every campaign by key (GET /admin/campaigns pages), filtered by status on
// the server and by text in the browser. The first page is shown as soon as it arrives and
// the rest stream in behind it; at most SHOWN rows are in the DOM at once ("show more"), so
// 1,000 campaigns are usable about as soon as 10 (bench/console.py).
import { call } from "./api";
import { bind } from "./i18n";
import { h, tr } from "./dom";
import { errorText } from "./util";

export interface Summary { campaign_id: string; name: string; status: string; version: number;
  trigger_type?: string; updated_at?: string; next_occurrence?: string | null;
  budget_used?: Record<string, number>; budget?: Record<string, number> | null;
  recent?: { days: string[]; delivered: number[]; coupons_redeemed: number[] } }

const STATUSES = ["draft", "active", "paused", "ended"];
let lastStatus = "";
let lastQuery = "";
const SHOWN = 100;

/** Every page in turn; ``onPage`` sees each as it arrives and says whether to go on. */
async function load(status: string, onPage: (items: Summary[]) => boolean): Promise<void> {
  let cursor: string | null = null;
  for (let pages = 0; pages < 50; pages++) {  // 5,000 campaigns at most on one screen
    // activity: next occurrence, budget used and the 7-day counts, batched per page
    const q = new URLSearchParams({ limit: "100", activity: "true" });
    if (status) q.set("status", status);
    if (cursor) q.set("cursor", cursor);
    const page: { items: Summary[]; next_cursor: string | null } =
      await call("GET", `/admin/campaigns?${q}`);
    if (!onPage(page.items)) return;
    cursor = page.next_cursor;
    if (!cursor) break;
  }
}

/** A tiny inline SVG of the last 7 days: delivered (line) and redeemed (dashed). */
function sparkline(c: Summary): Node {
  const r = c.recent;
  if (!r) return document.createTextNode("");
  const W = 84, H = 22, max = Math.max(1, ...r.delivered, ...r.coupons_redeemed);
  const pts = (v: number[]): string => v.map((y, i) =>
    `${(i * (W - 4)) / Math.max(1, v.length - 1) + 2},${H - 2 - (y / max) * (H - 4)}`).join(" ");
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  for (const [k, v] of Object.entries({ class: "spark", width: W, height: H, viewBox: `0 0 ${W} ${H}`,
    role: "img" })) svg.setAttribute(k, String(v));
  const sum = (v: number[]): number => v.reduce((a, b) => a + b, 0);
  const args = { sent: sum(r.delivered), redeemed: sum(r.coupons_redeemed) };
  svg.dataset.sent = String(args.sent);
  svg.dataset.redeemed = String(args.redeemed);
  bind(svg as unknown as HTMLElement, "campaigns.spark", args, "aria-label");
  for (const [v, color, dash] of [[r.delivered, "#1f5fd1", ""], [r.coupons_redeemed, "#b4232a", "3 2"]] as const) {
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", pts([...v]));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", color);
    line.setAttribute("stroke-width", "1.6");
    if (dash) line.setAttribute("stroke-dasharray", dash);
    svg.append(line);
  }
  return h("span", { class: "spark-cell" }, svg, h("span", { class: "num" }, ` ${args.sent}/${args.redeemed}`));
}

function budgetText(c: Summary): string {
  const used = c.budget_used ?? {};
  const dims = Object.entries(c.budget ?? {}).filter(([, v]) => typeof v === "number");
  const money = (k: string, v: number): string => k === "money_minor" ? `¥${(v / 100).toFixed(2)}` : String(v);
  if (!dims.length) return Object.entries(used).map(([k, v]) => money(k, v)).join(" · ") || "—";
  return dims.map(([k, lim]) => `${money(k, used[k] ?? 0)} / ${money(k, lim)}`).join(" · ");
}

function nextText(c: Summary): Node {
  if (c.next_occurrence) return document.createTextNode(c.next_occurrence.slice(0, 16).replace("T", " "));
  if (c.status === "active" && (c.trigger_type === "birthday" || c.trigger_type === "event"))
    return tr("span", "campaigns.perMember", { class: "muted" });
  return document.createTextNode("—");
}

export function statusBadge(status: string): HTMLElement {
  return tr("span", `status.${status}`, { class: `badge status-${status}` });
}

export async function campaignsPage(main: HTMLElement): Promise<void> {
  const statusSel = h("select", { id: "status-filter" },
    tr("option", "campaigns.all", { value: "" }),
    ...STATUSES.map((s) => tr("option", `status.${s}`, { value: s })));
  statusSel.value = lastStatus;
  const search = h("input", { id: "search", type: "search", value: lastQuery });
  bind(search, "campaigns.searchHint", {}, "placeholder");
  const count = h("p", { class: "muted", "aria-live": "polite", id: "count" });
  const alert = h("p", { role: "alert", class: "alert" });
  const body = h("tbody");
  const table = h("table", { class: "list" },
    h("thead", {}, h("tr", {}, ...["campaigns.name", "campaigns.id", "campaigns.status",
      "campaigns.trigger", "campaigns.next", "campaigns.budget", "campaigns.recent",
      "campaigns.version", "campaigns.updated"].map((k) =>
      tr("th", k, { scope: "col" })))), body);
  let all: Summary[] = [];
  let shown = SHOWN;
  let loading = false;
  let generation = 0;  // a status change abandons the load in flight
  const more = tr("button", "campaigns.more", { type: "button", id: "more", hidden: true });
  more.addEventListener("click", () => { shown += SHOWN; render(); });

  const render = (): void => {
    const q = search.value.trim().toLowerCase();
    lastQuery = search.value;
    const rows = all.filter((c) => !q || c.name.toLowerCase().includes(q) ||
      c.campaign_id.toLowerCase().includes(q));
    body.replaceChildren(...rows.slice(0, shown).map((c) => h("tr", {},
      h("td", {}, h("a", { href: `#/campaigns/${encodeURIComponent(c.campaign_id)}` }, c.name)),
      h("td", {}, h("code", {}, c.campaign_id)),
      h("td", {}, statusBadge(c.status)),
      h("td", {}, c.trigger_type ? tr("span", `trigger.${c.trigger_type}`) : ""),
      h("td", { class: "next" }, nextText(c)),
      h("td", { class: "budget" }, budgetText(c)),
      h("td", { class: "recent" }, h("a", { href: `#/results/${encodeURIComponent(c.campaign_id)}`,
        class: "results-link" }, sparkline(c), tr("span", "campaigns.results", { class: "sr-only" }))),
      h("td", { class: "num" }, String(c.version)),
      h("td", {}, (c.updated_at ?? "").slice(0, 16).replace("T", " ")))));
    if (loading) bind(count, "campaigns.countLoading", { n: rows.length });
    else bind(count, rows.length ? "campaigns.count" : "campaigns.empty", { n: rows.length });
    more.hidden = rows.length <= shown;
    if (!more.hidden) bind(more, "campaigns.more", { n: rows.length - shown });
  };
  const reload = async (): Promise<void> => {
    const gen = ++generation;
    lastStatus = statusSel.value;
    bind(count, "campaigns.loading");
    alert.textContent = "";
    all = [];
    shown = SHOWN;
    loading = true;
    try {
      await load(statusSel.value, (items) => {
        if (gen !== generation) return false;
        all.push(...items);
        render();
        return true;
      });
    } catch (e) { if (gen === generation) alert.textContent = errorText(e); }
    if (gen !== generation) return;
    loading = false;
    render();
  };
  statusSel.addEventListener("change", () => void reload());
  search.addEventListener("input", () => { shown = SHOWN; render(); });
  main.replaceChildren(
    h("div", { class: "titlebar" }, tr("h1", "campaigns.title"),
      tr("a", "campaigns.new", { href: "#/new", class: "button primary" })),
    h("div", { class: "filters" },
      h("div", { class: "field" }, tr("label", "campaigns.status", { for: "status-filter" }), statusSel),
      h("div", { class: "field grow" }, tr("label", "campaigns.search", { for: "search" }), search)),
    alert, count, h("div", { class: "table-wrap" }, table), more);
  await reload();
}
