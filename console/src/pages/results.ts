// Campaign results: daily delivered / redeemed / cost chart, suppression by reason, variant
// table with the lift interval and verdict, per-arm conversion and revenue per member with
// 95 % intervals, the sample-ratio-mismatch banner, the daily numbers, CSV download. Charts
// load lazily (ECharts, tree-shaken) only on this page.
import { call, session } from "../api";
import { bind, lang, t } from "../i18n";
import { h, tr } from "../dom";
import { errorText } from "../util";

const REASONS = ["consent", "cap", "budget", "erased", "limit", "quiet"];
const DAY_COLS = ["targeted", "delivered", "held_out", "coupons_issued", "coupons_redeemed",
  "points_awarded", "cost_minor"];

export interface Results {
  campaign_id: string; name: string; timezone: string; from: string; to: string;
  days: Record<string, any>[]; totals: Record<string, number>;
  suppressed: Record<string, number>; sent: Record<string, number>;
  variants: Record<string, any>[]; holdout: Record<string, any>; lift: Record<string, any>;
  arms?: Arm[]; srm?: Srm | null; journey?: Journey | null;
}

export interface Journey {
  entered: number; active: number; exited: number; completed: number;
  steps: { id: string; type: string; reached: number; at?: number }[];
}

type Estimate = { ci_low: number | null; ci_high: number | null; [k: string]: any };
export interface Arm {
  arm: string; kind: "variant" | "treated" | "holdout"; members: number; converters: number;
  share: number | null; expected_share: number | null;
  conversion: Estimate; revenue_per_member: Estimate;
  vs_holdout: { conversion: Estimate; revenue_per_member: Estimate } | null;
}
export interface Srm {
  status: string; flagged: boolean; p_value: number | null; chi2: number | null;
  message_zh: string; message_en: string;
}

const yuan = (fen: number): string => (fen / 100).toLocaleString(lang, {
  minimumFractionDigits: 2, maximumFractionDigits: 2 });
const pct = (x: number | null | undefined): string => x == null ? "—" :
  `${(x * 100).toFixed(1)}%`;
const pts = (x: number | null | undefined): string => x == null ? "—" :
  `${x >= 0 ? "+" : ""}${(x * 100).toFixed(1)}`;

function verdictBadge(v: Record<string, any>): HTMLElement {
  return h("span", { class: `badge verdict-${v.verdict}`, "data-verdict": v.verdict },
    lang === "en" ? v.verdict_en : v.verdict_zh);
}

function variantRows(r: Results): HTMLElement[] {
  const groups = r.variants.length ? r.variants : [{ variant: "", ...r.lift,
    delivered: r.totals.delivered, coupons_redeemed: r.totals.coupons_redeemed,
    cost_minor: r.totals.cost_minor }];
  const rows = groups.map((v) => h("tr", {},
    h("th", { scope: "row" }, v.variant ? v.variant : tr("span", "results.allTreated")),
    h("td", { class: "num" }, String(v.delivered ?? v.members ?? 0)),
    h("td", { class: "num" }, String(v.converters ?? 0)),
    h("td", { class: "num" }, pct(v.conversion_rate)),
    h("td", { class: "num" }, pts(v.lift)),
    h("td", { class: "num" }, v.ci_low == null ? "—" : `${pts(v.ci_low)} … ${pts(v.ci_high)}`),
    h("td", {}, verdictBadge(v)),
    h("td", { class: "num" }, String(v.coupons_redeemed ?? 0)),
    h("td", { class: "num" }, yuan(v.cost_minor ?? 0))));
  rows.push(h("tr", { class: "holdout" },
    h("th", { scope: "row" }, tr("span", "results.holdout")),
    h("td", { class: "num" }, String(r.holdout.members)),
    h("td", { class: "num" }, String(r.holdout.converters)),
    h("td", { class: "num" }, pct(r.holdout.conversion_rate)),
    h("td", {}, "—"), h("td", {}, "—"), h("td", {}, "—"), h("td", {}, "—"), h("td", {}, "—")));
  return rows;
}

const ranged = (x: number | null | undefined, e: Estimate | null | undefined,
  fmt: (v: number) => string): string => x == null ? "—" :
  e?.ci_low == null || e?.ci_high == null ? fmt(x) : `${fmt(x)} [${fmt(e.ci_low)}, ${fmt(e.ci_high)}]`;

function armName(a: Arm): HTMLElement {
  return a.kind === "holdout" ? tr("span", "results.holdout")
    : a.kind === "treated" ? tr("span", "results.allTreated") : h("span", {}, a.arm);
}

/** One row per arm: members and share of the split, conversion and revenue per member with
 *  their 95 % intervals, and each against the holdout with its verdict. */
function armRows(arms: Arm[]): HTMLElement[] {
  return arms.map((a) => {
    const vs = a.vs_holdout;
    const rpm = a.revenue_per_member;
    return h("tr", { "data-arm": a.arm, class: a.kind === "holdout" ? "holdout" : "" },
      h("th", { scope: "row" }, armName(a)),
      h("td", { class: "num" }, String(a.members)),
      h("td", { class: "num" }, `${pct(a.share)} / ${pct(a.expected_share)}`),
      h("td", { class: "num", "data-col": "conversion" },
        ranged(a.conversion.rate, a.conversion, (v) => pct(v))),
      h("td", { class: "num" }, vs ? ranged(vs.conversion.lift, vs.conversion, pts) : "—"),
      h("td", {}, vs ? verdictBadge(vs.conversion) : "—"),
      h("td", { class: "num", "data-col": "revenue",
        title: (lang === "en" ? rpm.note_en : rpm.note_zh) ?? undefined }, ranged(rpm.mean, rpm, yuan)),
      h("td", { class: "num" }, vs ? ranged(vs.revenue_per_member.diff, vs.revenue_per_member, yuan) : "—"),
      h("td", {}, vs ? verdictBadge(vs.revenue_per_member) : "—"));
  });
}

/** The sample-ratio-mismatch warning (nothing when the split looks healthy). Both languages
 *  are rendered; the stylesheet shows the one the page is in, so switching keeps it right. */
function srmBanner(srm: Srm | null | undefined): HTMLElement | null {
  if (!srm?.flagged) return null;
  return h("div", { class: "srm-banner", role: "alert", id: "srm", "data-srm": srm.status },
    tr("strong", "results.srm.title"),
    h("p", { class: "both" }, h("span", { lang: "zh-CN" }, srm.message_zh),
      h("span", { lang: "en" }, srm.message_en)));
}

// A journey campaign: members entered / in progress / exited / completed, and per step how
// many reached it and (waits) how many wait there now. Counters, not the date range.
function journeySection(j: Journey | null | undefined): HTMLElement[] {
  if (!j) return [];
  const totals = ["entered", "active", "exited", "completed"] as const;
  return [tr("h2", "results.journey"),
    h("div", { class: "kpis", id: "journey-totals" }, ...totals.map((k) =>
      h("div", { class: "stat card", "data-kpi": `journey-${k}` },
        tr("span", `results.journey.${k}`, { class: "muted" }),
        h("span", { class: "big" }, String(j[k]))))),
    h("div", { class: "table-wrap" }, h("table", { class: "list", id: "journey-steps" },
      headRow(["results.journey.step", "results.journey.type", "results.journey.reached",
        "results.journey.at"]),
      h("tbody", {}, ...j.steps.map((s) => h("tr", { "data-step": s.id },
        h("th", { scope: "row" }, s.id), h("td", {}, s.type),
        h("td", { class: "num", "data-col": "reached" }, String(s.reached)),
        h("td", { class: "num", "data-col": "at" }, s.at == null ? "—" : String(s.at)))))))];
}

function headRow(keys: string[]): HTMLElement {
  return h("thead", {}, h("tr", {}, ...keys.map((k) => tr("th", k, { scope: "col" }))));
}

async function downloadCsv(id: string, from: string, to: string, alert: HTMLElement): Promise<void> {
  // A fetch with the bearer token (a plain link could not send it), saved as a Blob.
  try {
    const resp = await fetch(`/api/admin/campaigns/${encodeURIComponent(id)}/results/csv?` +
      new URLSearchParams({ from, to }), { headers: { Authorization: `Bearer ${session.token}` } });
    if (!resp.ok) throw new Error(resp.statusText);
    const name = /filename="([^"]+)"/.exec(resp.headers.get("Content-Disposition") ?? "")?.[1]
      ?? `${id}-results.csv`;
    const a = h("a", { href: URL.createObjectURL(await resp.blob()), download: name });
    document.body.append(a); a.click(); a.remove();
  } catch (e) { alert.textContent = errorText(e); }
}

export async function resultsPage(main: HTMLElement, id: string): Promise<void> {
  // Empty until the first answer: the server picks the default range in the campaign's
  // timezone (the browser's UTC or local date may be another day) and the page shows it.
  const from = h("input", { id: "from", type: "date" });
  const to = h("input", { id: "to", type: "date" });
  const alert = h("p", { role: "alert", class: "alert" });
  const body = h("div", { id: "results-body", "aria-live": "polite" });
  const title = h("h1", {}, id);
  let seq = 0;  // a slower earlier answer must not overwrite a later range
  let sent: [string, string] = ["", ""];
  const load = async (): Promise<void> => {
    const mine = ++seq;
    alert.textContent = "";
    body.replaceChildren(tr("p", "campaigns.loading", { class: "muted" }));
    let r: Results;
    try {
      const q = new URLSearchParams();
      sent = [from.value, to.value];
      if (from.value) q.set("from", from.value);
      if (to.value) q.set("to", to.value);
      r = await call("GET", `/admin/campaigns/${encodeURIComponent(id)}/results?${q}`);
    } catch (e) {
      if (mine === seq) { alert.textContent = errorText(e); body.replaceChildren(); }
      return;
    }
    if (mine !== seq) return;
    body.dataset.range = `${r.from}..${r.to}`;
    // what the server answered (campaign timezone), unless typed over meanwhile
    if (from.value === sent[0]) from.value = r.from;
    if (to.value === sent[1]) to.value = r.to;
    title.textContent = `${r.name} · ${t("results.title")}`;
    render(body, r);
  };
  const form = h("form", { class: "filters", onsubmit: (ev: Event) => { ev.preventDefault(); void load(); } },
    h("div", { class: "field" }, tr("label", "results.from", { for: "from" }), from),
    h("div", { class: "field" }, tr("label", "results.to", { for: "to" }), to),
    h("div", { class: "field" }, tr("button", "results.show", { type: "submit", class: "primary" })),
    h("div", { class: "field" }, tr("button", "results.csv", { type: "button", id: "csv",
      onclick: () => void downloadCsv(id, from.value, to.value, alert) })));
  main.replaceChildren(
    tr("a", "results.back", { href: `#/campaigns/${encodeURIComponent(id)}`, class: "back" }),
    title, form, alert, body);
  await load();
}

function render(body: HTMLElement, r: Results): void {
  const tot = r.totals;
  const kpi = (key: string, value: string, name: string): HTMLElement =>
    h("div", { class: "stat card", "data-kpi": name }, tr("span", key, { class: "muted" }),
      h("span", { class: "big" }, value));
  const daily = h("div", { class: "chart", role: "img", id: "chart-daily" });
  const reasons = h("div", { class: "chart", role: "img", id: "chart-suppressed" });
  bind(daily, "results.dailyChart", {}, "aria-label");
  bind(reasons, "results.suppressedChart", {}, "aria-label");
  const dayTable = h("table", { class: "list", id: "days" },
    headRow(["results.day", ...DAY_COLS.map((c) => `results.c.${c}`)]),
    h("tbody", {}, ...r.days.filter((d) => DAY_COLS.some((c) => d[c])).map((d) => h("tr", {},
      h("th", { scope: "row" }, d.day),
      ...DAY_COLS.map((c) => h("td", { class: "num" },
        c === "cost_minor" ? yuan(d[c]) : String(d[c]))))),
    h("tr", { class: "total" }, tr("th", "results.total", { scope: "row" }),
      ...DAY_COLS.map((c) => h("td", { class: "num", "data-total": c },
        c === "cost_minor" ? yuan(tot[c]) : String(tot[c]))))));
  const arms = r.arms ?? [];
  body.replaceChildren(
    h("p", { class: "muted" }, tr("span", "results.tz", {}, { tz: r.timezone, from: r.from, to: r.to })),
    srmBanner(r.srm) ?? "",
    h("div", { class: "kpis" },
      kpi("results.c.targeted", String(tot.targeted), "targeted"),
      kpi("results.c.delivered", String(tot.delivered), "delivered"),
      kpi("results.c.coupons_redeemed", String(tot.coupons_redeemed), "redeemed"),
      kpi("results.c.cost_minor", `¥${yuan(tot.cost_minor)}`, "cost"),
      h("div", { class: "stat card", "data-kpi": "verdict" }, tr("span", "results.verdict", { class: "muted" }),
        h("span", { class: "big" }, verdictBadge(r.lift)))),
    ...journeySection(r.journey),
    h("div", { class: "charts" },
      h("section", { class: "card" }, tr("h2", "results.dailyChart"), daily),
      h("section", { class: "card" }, tr("h2", "results.suppressedChart"), reasons)),
    tr("h2", "results.variants"),
    h("div", { class: "table-wrap" }, h("table", { class: "list", id: "variants" },
      headRow(["results.variant", "results.c.delivered", "results.converters", "results.rate",
        "results.lift", "results.ci", "results.verdict", "results.c.coupons_redeemed",
        "results.c.cost_minor"]),
      h("tbody", {}, ...variantRows(r)))),
    tr("p", "results.ciNote", { class: "muted" }),
    ...(arms.length ? [tr("h2", "results.arms"),
      h("div", { class: "table-wrap" }, h("table", { class: "list", id: "arms" },
        headRow(["results.variant", "results.members", "results.share", "results.rateCi",
          "results.lift", "results.verdict", "results.rpm", "results.rpmDiff",
          "results.rpmVerdict"]),
        h("tbody", {}, ...armRows(arms)))),
      tr("p", "results.armsNote", { class: "muted" })] : []),
    tr("h2", "results.daily"),
    h("div", { class: "table-wrap" }, dayTable));
  void import("./resultsCharts").then(({ draw }) => {
    const x = r.days.map((d) => d.day.slice(5));
    draw(daily, x, [
      { name: t("results.c.delivered"), values: r.days.map((d) => d.delivered), type: "bar" },
      { name: t("results.c.coupons_redeemed"), values: r.days.map((d) => d.coupons_redeemed), type: "bar" },
      { name: t("results.costYuan"), values: r.days.map((d) => d.cost_minor / 100), type: "line", axis: 1 },
    ]);
    draw(reasons, REASONS.map((k) => t(`results.reason.${k}`)),
      [{ name: t("results.suppressed"), values: REASONS.map((k) => r.suppressed[k] ?? 0), type: "bar" }], true);
  });
}
