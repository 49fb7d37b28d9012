// Campaigns list: every campaign by key (GET /admin/campaigns pages), filtered by status on
// the server and by text in the browser. The first page is shown as soon as it arrives and
// the rest stream in behind it; at most SHOWN rows are in the DOM at once ("show more"), so
// 1,000 campaigns are usable about as soon as 10 (bench/console.py).
import { call } from "./api";
import { bind } from "./i18n";
import { h, tr } from "./dom";
import { errorText } from "./util";

export interface Summary { campaign_id: string; name: string; status: string; version: number;
  trigger_type?: string; updated_at?: string }

const STATUSES = ["draft", "active", "paused", "ended"];
let lastStatus = "";
let lastQuery = "";
const SHOWN = 100;

/** Every page in turn; ``onPage`` sees each as it arrives and says whether to go on. */
async function load(status: string, onPage: (items: Summary[]) => boolean): Promise<void> {
  let cursor: string | null = null;
  for (let pages = 0; pages < 50; pages++) {  // 5,000 campaigns at most on one screen
    const q = new URLSearchParams({ limit: "100" });
    if (status) q.set("status", status);
    if (cursor) q.set("cursor", cursor);
    const page: { items: Summary[]; next_cursor: string | null } =
      await call("GET", `/admin/campaigns?${q}`);
    if (!onPage(page.items)) return;
    cursor = page.next_cursor;
    if (!cursor) break;
  }
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
      "campaigns.trigger", "campaigns.version", "campaigns.updated"].map((k) =>
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
