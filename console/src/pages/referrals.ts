// 推荐有礼 Referrals: the live program's `referrals` settings (read-only, from GET
// /admin/program) and the funnel, rejections by reason and cost (GET /admin/referrals/stats).
// The settings are edited with the program ("编辑计划"); docs/referrals.md.
import { ApiError, call } from "../api";
import { h, tr } from "../dom";
import { messages, num } from "./common";

interface Reward { points?: number | null; coupon_template_id?: string | null }
interface Settings { enabled?: boolean; share_url?: string; referrer_reward?: Reward;
  referee_reward?: Reward; refund_window_days?: number; monthly_cap?: number;
  new_member_hours?: number }
interface Stats { invites: number; signups: number; qualified: number; rewarded: number;
  reversed: number; rejected: number; rejected_by_reason: Record<string, number>;
  cost_points: number; cost_coupon_minor: number; cost_per_qualified_points: number | null;
  cost_per_qualified_coupon_minor: number | null }

// Every reason the API gives (docs/referrals.md "Reason codes"), shown even at zero.
export const REASONS = ["DISABLED", "UNKNOWN_CODE", "SELF_REFERRAL", "NOT_NEW_MEMBER",
  "REFERRER_CAP"];
const FUNNEL = ["invites", "signups", "qualified", "rewarded", "reversed", "rejected"] as const;

const yuan = (minor: number | null | undefined): string =>
  minor === null || minor === undefined ? "—" : `¥${(minor / 100).toLocaleString()}`;

function fact(key: string, value: Node | string): Node[] {
  return [tr("dt", key), h("dd", {}, value)];
}

function reward(r: Reward | undefined): HTMLElement {
  const out = h("span");
  if (r?.points) out.append(tr("span", "referrals.rewardPoints", {}, { p: num(r.points) }));
  if (r?.points && r?.coupon_template_id) out.append(" + ");
  if (r?.coupon_template_id) out.append(tr("span", "referrals.rewardCoupon"), " ",
    h("code", {}, r.coupon_template_id));
  if (!out.childNodes.length) out.append("—");
  return out;
}

function settingsCard(s: Settings | null): HTMLElement {
  const card = h("section", { class: "card", id: "referral-settings",
    "aria-labelledby": "referral-settings-title" },
  tr("h2", "referrals.settings", { id: "referral-settings-title" }));
  if (!s) {
    card.append(tr("p", "referrals.off", { class: "muted" }));
    return card;
  }
  card.append(h("dl", { class: "facts" },
    ...fact("referrals.status", tr("span", s.enabled ? "referrals.enabled" : "referrals.disabled",
      { class: "badge" })),
    ...fact("referrals.shareUrl", h("code", {}, s.share_url ?? "—")),
    ...fact("referrals.referrerReward", reward(s.referrer_reward)),
    ...fact("referrals.refereeReward", reward(s.referee_reward)),
    ...fact("referrals.window", tr("span", "referrals.days", {}, { n: s.refund_window_days ?? 0 })),
    ...fact("referrals.cap", tr("span", "referrals.perMonth", {}, { n: s.monthly_cap ?? 0 })),
    ...fact("referrals.newMember", tr("span", "referrals.hours", {}, { n: s.new_member_hours ?? 0 }))),
  tr("p", "referrals.editHint", { class: "muted" }));
  return card;
}

function statsSection(st: Stats): HTMLElement {
  const kpi = (k: (typeof FUNNEL)[number]): HTMLElement =>
    h("div", { class: "stat card", "data-kpi": k }, tr("span", `referrals.c.${k}`, { class: "muted" }),
      h("span", { class: "big" }, num(st[k])));
  const codes = [...REASONS, ...Object.keys(st.rejected_by_reason).filter((r) => !REASONS.includes(r))];
  const reasons = h("table", { class: "list", id: "referral-reasons" },
    h("caption", { class: "sr-only" }, tr("span", "referrals.reasons")),
    h("thead", {}, h("tr", {}, ...["referrals.reason", "referrals.code", "referrals.count"]
      .map((k) => tr("th", k, { scope: "col" })))),
    h("tbody", {}, ...codes.map((r) => h("tr", { "data-reason": r },
      h("th", { scope: "row" }, REASONS.includes(r) ? tr("span", `referrals.r.${r}`) : r),
      h("td", {}, h("code", {}, r)), h("td", { class: "num" }, num(st.rejected_by_reason[r]))))));
  const cost = h("dl", { class: "facts", id: "referral-cost" },
    ...fact("referrals.costPoints", num(st.cost_points)),
    ...fact("referrals.costCoupons", yuan(st.cost_coupon_minor)),
    ...fact("referrals.perQualifiedPoints", st.cost_per_qualified_points === null ? "—"
      : num(st.cost_per_qualified_points)),
    ...fact("referrals.perQualifiedCoupons", yuan(st.cost_per_qualified_coupon_minor)));
  return h("section", { id: "referral-stats", "aria-labelledby": "referral-stats-title" },
    tr("h2", "referrals.stats", { id: "referral-stats-title" }),
    h("div", { class: "kpis" }, ...FUNNEL.map(kpi)),
    h("div", { class: "cards" },
      h("div", { class: "card" }, tr("h3", "referrals.reasons"), h("div", { class: "table-wrap" }, reasons)),
      h("div", { class: "card" }, tr("h3", "referrals.cost"), cost,
        tr("p", "referrals.costNote", { class: "muted" }))));
}

export async function referralsPage(main: HTMLElement): Promise<void> {
  const m = messages();
  main.replaceChildren(tr("h1", "referrals.title"), m.notice, m.alert,
    tr("p", "referrals.loading", { class: "muted" }));
  try {
    const [live, stats] = await Promise.all([
      call("GET", "/admin/program").catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return null;  // no program yet
        throw e;
      }),
      call<Stats>("GET", "/admin/referrals/stats")]);
    main.replaceChildren(tr("h1", "referrals.title"), m.notice, m.alert,
      settingsCard(live?.program?.referrals ?? null), statsSection(stats));
  } catch (e) {
    main.replaceChildren(tr("h1", "referrals.title"), m.notice, m.alert);
    m.fail(e);
  }
}
