// The gift fulfilment queue (GET /admin/fulfilments): gifts in one status, newest first; pick
// one to ship it (carrier + tracking number), mark it delivered, or cancel it (points back).
import { call } from "../api";
import { bind } from "../i18n";
import { h, tr } from "../dom";
import { messages, when } from "./common";

interface Gift { fulfilment_id: string; member_id: string; sku: string; name: string;
  status: string; created_at: string; carrier?: string | null; tracking_number?: string | null;
  points_returned?: number }

const STATUSES = ["to_fulfil", "shipped", "delivered", "cancelled"];

export async function giftsPage(main: HTMLElement, id: string | null): Promise<void> {
  const m = messages();
  const status = h("select", { id: "gift-status" },
    ...STATUSES.map((s) => tr("option", `gifts.s.${s}`, { value: s })));
  const body = h("tbody");
  const count = h("p", { class: "muted", id: "count", "aria-live": "polite" });
  const more = tr("button", "gifts.more", { type: "button", hidden: true });
  const panel = h("section", { id: "gift-panel", class: "card", hidden: true });
  let cursor: string | null = null;
  let seq = 0;
  const load = async (reset: boolean): Promise<void> => {
    const mine = ++seq;
    if (reset) { body.replaceChildren(); cursor = null; }
    const q = new URLSearchParams({ status: status.value, limit: "50" });
    if (cursor) q.set("cursor", cursor);
    try {
      const page: { items: Gift[]; next_cursor: string | null } =
        await call("GET", `/admin/fulfilments?${q}`);
      if (mine !== seq) return;
      body.append(...page.items.map((g) => h("tr", {},
        h("td", {}, when(g.created_at)), h("td", {}, g.name || g.sku, " ", h("code", {}, g.sku)),
        h("td", {}, h("code", {}, g.member_id)),
        h("td", {}, g.tracking_number ? `${g.carrier ?? ""} ${g.tracking_number}` : "—"),
        h("td", {}, tr("button", "gifts.open", { type: "button", onclick: () => open(g) },
          { id: g.fulfilment_id })))));
      cursor = page.next_cursor;
      more.hidden = !cursor;
      bind(count, body.children.length ? "gifts.count" : "gifts.empty", { n: body.children.length });
    } catch (e) { m.fail(e); }
  };
  const act = async (g: Gift, action: string, payload: unknown, done: string): Promise<void> => {
    try {
      await call("POST", `/admin/fulfilments/${encodeURIComponent(g.fulfilment_id)}/${action}`,
        payload);
      m.say(done, { id: g.fulfilment_id });
      panel.hidden = true;
      await load(true);
    } catch (e) { m.fail(e); }
  };
  const open = (g: Gift): void => {
    const carrier = h("input", { id: "gift-carrier", maxlength: 40, required: true });
    const tracking = h("input", { id: "gift-tracking", maxlength: 64, required: true,
      pattern: "[A-Za-z0-9-]{3,64}" });
    const reason = h("input", { id: "gift-reason", maxlength: 200, required: true, minlength: 3 });
    const can = (s: string[]): boolean => s.includes(g.status);
    panel.replaceChildren(tr("h2", "gifts.panel", {}, { id: g.fulfilment_id }),
      can(["to_fulfil"]) ? h("form", { class: "filters", onsubmit: (ev: Event) => {
        ev.preventDefault();
        void act(g, "ship", { carrier: carrier.value.trim(), tracking_number: tracking.value.trim() },
          "gifts.shipped"); } },
      h("div", { class: "field" }, tr("label", "gifts.carrier", { for: "gift-carrier" }), carrier),
      h("div", { class: "field" }, tr("label", "gifts.tracking", { for: "gift-tracking" }), tracking),
      h("div", { class: "field" }, tr("button", "gifts.ship", { type: "submit", class: "primary" })))
        : "",
      can(["shipped"]) ? tr("button", "gifts.deliver", { type: "button", class: "primary",
        onclick: () => void act(g, "deliver", {}, "gifts.delivered") }) : "",
      can(["to_fulfil", "shipped"]) ? h("form", { class: "filters", onsubmit: (ev: Event) => {
        ev.preventDefault(); void act(g, "cancel", { reason: reason.value.trim() }, "gifts.cancelled"); } },
      h("div", { class: "field grow" }, tr("label", "gifts.reason", { for: "gift-reason" }), reason),
      h("div", { class: "field" }, tr("button", "gifts.cancel", { type: "submit" }))) : "");
    panel.hidden = false;
  };
  status.addEventListener("change", () => void load(true));
  more.addEventListener("click", () => void load(false));
  main.replaceChildren(tr("h1", "gifts.title"),
    h("div", { class: "filters" },
      h("div", { class: "field" }, tr("label", "gifts.status", { for: "gift-status" }), status)),
    m.notice, m.alert, count,
    h("div", { class: "table-wrap" }, h("table", { class: "list", id: "gifts" },
      h("thead", {}, h("tr", {}, ...["gifts.when", "gifts.gift", "gifts.member", "gifts.parcel",
        "gifts.actions"].map((k) => tr("th", k, { scope: "col" })))), body)), more, panel);
  if (id) status.value = STATUSES.includes(id) ? id : "to_fulfil";
  await load(true);
}
