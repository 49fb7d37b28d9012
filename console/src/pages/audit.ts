// The audit log (GET /admin/audit): who changed what, when, newest first, one month at a
// time, optionally one entity id; each entry's changes as a before → after table.
import { call } from "../api";
import { bind } from "../i18n";
import { h, tr } from "../dom";
import { messages, when } from "./common";

interface Entry { at: string; who: string; entity: string; entity_id?: string; action: string;
  version?: number; changes: any[]; details?: Record<string, unknown> }

const show = (v: unknown): string => v === undefined ? "—"
  : typeof v === "string" ? v : JSON.stringify(v);

/** What an entry says besides field changes (a points adjustment's delta and reason, a
 * rollback's target version, a lookup's purpose). */
function detailsView(e: Entry): Node | null {
  const d = Object.entries(e.details ?? {});
  if (!d.length) return null;
  return h("dl", { class: "details" }, ...d.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, show(v))]));
}

/** The browser's local month (yyyy-mm): toISOString would give the UTC month. */
function localMonth(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}`;
}

function changesView(e: Entry): Node {
  const details = detailsView(e);
  if (!e.changes?.length && details) return details;
  if (!e.changes?.length) return tr("span", e.action === "lookup" ? "audit.lookup" : "audit.noChanges",
    { class: "muted" });
  const rows = e.changes.map((c) => h("tr", {}, h("td", {}, h("code", {}, String(c.path ?? ""))),
    h("td", {}, c.note ? String(c.note) : h("del", {}, show(c.before ?? c.removed))),
    h("td", {}, c.note ? "" : h("ins", {}, show(c.after ?? c.added)))));
  return h("details", {}, h("summary", {}, tr("span", "audit.changeCount", {}, { n: e.changes.length })),
    h("table", { class: "list changes" }, h("thead", {}, h("tr", {},
      ...["audit.path", "audit.before", "audit.after"].map((k) => tr("th", k, { scope: "col" })))),
    h("tbody", {}, ...rows)));
}

export async function auditPage(main: HTMLElement, id: string | null): Promise<void> {
  const m = messages();
  const month = h("input", { id: "audit-month", type: "month", value: localMonth(new Date()),
    required: true });
  const entity = h("input", { id: "audit-entity", value: id ?? "", maxlength: 64,
    autocomplete: "off" });
  const body = h("tbody");
  const count = h("p", { class: "muted", id: "count", "aria-live": "polite" });
  const more = tr("button", "audit.more", { type: "button", hidden: true });
  let cursor: string | null = null;
  let seq = 0;  // an earlier, slower answer must not be appended to a newer search
  const load = async (reset: boolean): Promise<void> => {
    const mine = ++seq;
    if (reset) { body.replaceChildren(); cursor = null; }
    const q = new URLSearchParams({ month: month.value, limit: "50" });
    if (entity.value.trim()) q.set("entity_id", entity.value.trim());
    if (cursor) q.set("cursor", cursor);
    try {
      const page: { items: Entry[]; next_cursor: string | null } = await call("GET", `/admin/audit?${q}`);
      if (mine !== seq) return;
      body.append(...page.items.map((e) => h("tr", {},
        h("td", {}, when(e.at)), h("td", {}, e.who ?? ""),
        h("td", {}, tr("span", `audit.e.${e.entity}`), " ", h("code", {}, e.entity_id ?? "")),
        h("td", {}, tr("span", `audit.a.${e.action}`), e.version ? ` · v${e.version}` : ""),
        h("td", {}, changesView(e)))));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      bind(count, body.children.length ? "audit.count" : "audit.empty", { n: body.children.length });
    } catch (e) { m.fail(e); }
  };
  more.addEventListener("click", () => void load(false));
  main.replaceChildren(tr("h1", "audit.title"),
    h("form", { class: "filters", onsubmit: (ev: Event) => { ev.preventDefault(); void load(true); } },
      h("div", { class: "field" }, tr("label", "audit.month", { for: "audit-month" }), month),
      h("div", { class: "field grow" }, tr("label", "audit.entity", { for: "audit-entity" }), entity),
      h("div", { class: "field" }, tr("button", "audit.show", { type: "submit", class: "primary" }))),
    m.alert, count,
    h("div", { class: "table-wrap" }, h("table", { class: "list", id: "audit" },
      h("thead", {}, h("tr", {}, ...["audit.when", "audit.who", "audit.what", "audit.action",
        "audit.changes"].map((k) => tr("th", k, { scope: "col" })))), body)), more);
  await load(true);
}
