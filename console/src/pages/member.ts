// Member support: look a member up by id (GET /admin/members/{id}/support, audited server
// side: who looked at whom, when) and see the masked profile, consent, tier and progress,
// points ledger, wallet and inbox. Admins can adjust points with a reason.
import { call, session } from "../api";
import { bind, t } from "../i18n";
import { h, tr } from "../dom";
import { messages, num, when } from "./common";

let lastId = "";

function facts(pairs: [string, Node | string][], id?: string): HTMLElement {
  return h("dl", { class: "facts", id }, ...pairs.flatMap(([k, v]) => [tr("dt", k), h("dd", {}, v)]));
}

function table(id: string, heads: string[], rows: (Node | string)[][], empty: string): HTMLElement {
  if (!rows.length) return tr("p", empty, { class: "muted", id });
  return h("div", { class: "table-wrap" }, h("table", { class: "list", id },
    h("thead", {}, h("tr", {}, ...heads.map((k) => tr("th", k, { scope: "col" })))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c)))))));
}

const yesNo = (b: boolean): HTMLElement => tr("span", b ? "program.yes" : "program.no");

export async function memberPage(main: HTMLElement, id: string | null): Promise<void> {
  const m = messages();
  const input = h("input", { id: "member-id", name: "member_id", value: id ?? lastId,
    required: true, maxlength: 64, autocomplete: "off", spellcheck: "false" });
  const out = h("div", { id: "member-view", "aria-live": "polite" });
  const form = h("form", { class: "filters", role: "search", onsubmit: (ev: Event) => {
    ev.preventDefault();
    if (input.reportValidity()) void show(input.value.trim());
  } }, h("div", { class: "field grow" }, tr("label", "member.id", { for: "member-id" }), input),
  h("div", { class: "field" }, tr("button", "member.lookup", { type: "submit", class: "primary" })));

  const show = async (memberId: string): Promise<void> => {
    lastId = memberId;
    history.replaceState(null, "", `#/members/${encodeURIComponent(memberId)}`);
    m.alert.textContent = "";
    out.replaceChildren(tr("p", "campaigns.loading", { class: "muted" }));
    let v: any;
    try { v = await call("GET", `/admin/members/${encodeURIComponent(memberId)}/support`); }
    catch (e) { out.replaceChildren(); m.fail(e); return; }
    const p = v.profile, tier = v.tier, pts = v.points;
    const next = tier.next_tier ? tr("span", "member.toNext", {}, { tier: tier.next_tier,
      spend: tier.spend_to_next == null ? "—" : `¥${(tier.spend_to_next / 100).toLocaleString()}`,
      orders: tier.orders_to_next ?? "—" }) : tr("span", "member.topTier");
    out.replaceChildren(
      tr("p", "member.audited", { class: "muted", id: "audited" }, { by: v.looked_up_by,
        at: when(v.looked_up_at) }),
      h("div", { class: "cards" },
        h("section", { class: "card", "aria-labelledby": "h-profile" },
          tr("h2", "member.profile", { id: "h-profile" }),
          facts([["member.name", p.name ?? "—"], ["member.phone", p.phone ?? "—"],
            ["member.email", p.email ?? "—"], ["member.birthday", p.birthday ?? "—"],
            ["preview.timezone", p.timezone ?? ""], ["member.locale", p.locale ?? ""],
            ["member.city", p.city ?? "—"], ["member.tags", (p.tags ?? []).join(", ") || "—"],
            ["member.signup", when(p.signup_at)]], "profile")),
        h("section", { class: "card", "aria-labelledby": "h-consent" },
          tr("h2", "member.consent", { id: "h-consent" }),
          facts([["member.push", yesNo(v.consent.push)], ["member.sms", yesNo(v.consent.sms)],
            ["member.emailConsent", yesNo(v.consent.email)]], "consent")),
        h("section", { class: "card", "aria-labelledby": "h-tier" },
          tr("h2", "member.tier", { id: "h-tier" }),
          facts([["member.tier", `${tier.tier_name} (${tier.tier})`],
            ["member.spend", `¥${(tier.qualifying_spend / 100).toLocaleString()}`],
            ["member.orders", String(tier.qualifying_orders)], ["member.next", next],
            ["member.available", h("strong", { id: "points-available" }, num(pts.available))],
            ["member.pending", num(pts.pending)], ["member.lifetime", num(pts.lifetime_earned)]],
          "tier"))),
      session.claims?.roles.includes("admin") ? adjustForm(memberId, show, m) : "",
      tr("h2", "member.ledger"),
      table("ledger", ["member.when", "member.kind", "member.points", "member.reason"],
        v.ledger.map((e: any) => [when(e.created_at), e.kind, num(e.points), e.reason]),
        "member.none"),
      tr("h2", "member.wallet"),
      table("wallet", ["member.coupon", "coupons.id", "coupons.status", "member.validUntil"],
        v.wallet.map((c: any) => [c.name ?? c.title ?? c.coupon_id, h("code", {}, c.template_id),
          tr("span", `member.cs.${c.status}`), when(c.valid_until).slice(0, 16)]), "member.none"),
      tr("h2", "member.inbox"),
      table("inbox", ["member.when", "member.titleCol", "member.read"],
        v.inbox.map((x: any) => [when(x.created_at ?? x.sent_at), x.title ?? "", yesNo(!!x.read)]),
        "member.none"));
  };

  main.replaceChildren(tr("h1", "member.title"), tr("p", "member.intro", { class: "muted" }),
    form, m.alert, m.notice, out);
  if (id) await show(id);
}

function adjustForm(memberId: string, reload: (id: string) => Promise<void>,
  m: ReturnType<typeof messages>): HTMLElement {
  const delta = h("input", { id: "adjust-delta", type: "number", required: true,
    min: -10000000, max: 10000000, step: 1 });
  const reason = h("input", { id: "adjust-reason", required: true, minlength: 3, maxlength: 500 });
  return h("form", { class: "card adjust", "aria-labelledby": "h-adjust", onsubmit: async (ev: Event) => {
    ev.preventDefault();
    if (!(ev.target as HTMLFormElement).reportValidity()) return;
    if (!confirm(t("member.confirmAdjust", { n: delta.value, id: memberId }))) return;
    try {
      const r = await call("POST", `/admin/members/${encodeURIComponent(memberId)}/points`,
        { delta: Number(delta.value), reason: reason.value.trim() });
      await reload(memberId);
      bind(m.notice, "member.adjusted", { n: r.delta, available: r.available });
    } catch (e) { m.fail(e); }
  } },
  tr("h2", "member.adjust", { id: "h-adjust" }),
  h("div", { class: "filters" },
    h("div", { class: "field" }, tr("label", "member.delta", { for: "adjust-delta" }), delta),
    h("div", { class: "field grow" }, tr("label", "member.reason", { for: "adjust-reason" }), reason),
    h("div", { class: "field" }, tr("button", "member.apply", { type: "submit" }))));
}
