// 签到与任务 Check-in & activities: the live program's `checkin` and `activities` settings
// (read-only, from GET /admin/program; edited with the program on "会员计划") and the figures
// for a date range in the program's timezone: check-ins, make-ups, points and coupons per day
// (GET /admin/checkins/stats) and events, awarded, capped and points per activity type
// (GET /admin/activities/stats). The daily chart reuses the results page's ECharts module,
// loaded lazily. docs/checkin.md.
import { ApiError, call } from "../api";
import { t } from "../i18n";
import { h, tr } from "../dom";
import { messages, num } from "./common";

interface DayReward { day: number; points?: number; coupon_template_id?: string | null }
interface Checkin { enabled?: boolean; cycle_days?: number; daily_points?: number;
  rewards?: DayReward[]; after_cycle?: string;
  makeup?: { price_points: number; max_per_month?: number } | null }
interface Rule { name?: string; points: number; daily_cap?: number | null;
  monthly_cap?: number | null }
interface Activities { types?: Record<string, Rule>; max_age_days?: number }
interface Program { timezone?: string; checkin?: Checkin | null; activities?: Activities | null }

const DAY_COLS = ["checkins", "makeups", "points_awarded", "points_spent", "coupons"] as const;
type DayCol = (typeof DAY_COLS)[number];
type CheckinDay = { date: string } & Record<DayCol, number>;
interface CheckinStats { first: string; last: string; days: CheckinDay[]; totals: CheckinDay }
const TYPE_COLS = ["events", "awarded", "capped", "points"] as const;
type TypeStats = Record<(typeof TYPE_COLS)[number], number>;
interface ActivityStats { first: string; last: string;
  days: { date: string; types: Record<string, TypeStats> }[]; totals: Record<string, TypeStats> }

function fact(key: string, value: Node | string): Node[] {
  return [tr("dt", key), h("dd", {}, value)];
}

function headRow(keys: string[]): HTMLElement {
  return h("thead", {}, h("tr", {}, ...keys.map((k) => tr("th", k, { scope: "col" }))));
}

const table = (id: string, caption: string, head: string[], rows: HTMLElement[]): HTMLElement =>
  h("div", { class: "table-wrap" }, h("table", { class: "list", id },
    h("caption", { class: "sr-only" }, tr("span", caption)), headRow(head), h("tbody", {}, ...rows)));

const cap = (n: number | null | undefined): Node | string =>
  n ? num(n) : tr("span", "checkins.noCap", { class: "muted" });

function rewardRows(c: Checkin): HTMLElement[] {
  return [...(c.rewards ?? [])].sort((a, b) => a.day - b.day).map((r) => h("tr", { "data-day": r.day },
    h("th", { scope: "row" }, tr("span", "checkins.dayN", {}, { n: r.day })),
    h("td", { class: "num" }, num(r.points ?? 0)),
    h("td", {}, r.coupon_template_id ? h("code", {}, r.coupon_template_id) : "—")));
}

function checkinCard(c: Checkin | null | undefined): HTMLElement {
  const card = h("section", { class: "card", id: "checkin-settings",
    "aria-labelledby": "checkin-settings-title" },
  tr("h2", "checkins.settings", { id: "checkin-settings-title" }));
  if (!c) { card.append(tr("p", "checkins.off", { class: "muted" })); return card; }
  const mk = c.makeup;
  card.append(h("dl", { class: "facts" },
    ...fact("checkins.status", tr("span", c.enabled === false ? "checkins.disabled" : "checkins.enabled",
      { class: "badge" })),
    ...fact("checkins.cycle", tr("span", "checkins.days", {}, { n: c.cycle_days ?? 7 })),
    ...fact("checkins.dailyPoints", tr("span", "checkins.points", {}, { n: num(c.daily_points ?? 0) })),
    ...fact("checkins.afterCycle", tr("span", `checkins.after.${c.after_cycle ?? "restart"}`)),
    ...fact("checkins.makeup", mk ? tr("span", "checkins.makeupValue", { id: "makeup" },
      { p: num(mk.price_points), n: mk.max_per_month ?? 2 }) : tr("span", "checkins.makeupOff"))),
  tr("h3", "checkins.rewards"),
  c.rewards?.length ? table("checkin-rewards", "checkins.rewards",
    ["checkins.day", "checkins.rewardPoints", "checkins.coupon"], rewardRows(c))
    : tr("p", "checkins.noRewards", { class: "muted" }));
  return card;
}

function activitiesCard(a: Activities | null | undefined): HTMLElement {
  const card = h("section", { class: "card", id: "activity-settings",
    "aria-labelledby": "activity-settings-title" },
  tr("h2", "checkins.activities", { id: "activity-settings-title" }));
  const types = Object.entries(a?.types ?? {});
  if (!types.length) {
    card.append(tr("p", "checkins.noActivities", { class: "muted" }));
    return card;
  }
  card.append(table("activity-rules", "checkins.activities",
    ["checkins.type", "checkins.rewardPoints", "checkins.dailyCap", "checkins.monthlyCap"],
    types.map(([k, r]) => h("tr", { "data-type": k },
      h("th", { scope: "row" }, r.name || k, " ", h("code", {}, k)),
      h("td", { class: "num" }, num(r.points)), h("td", { class: "num" }, cap(r.daily_cap)),
      h("td", { class: "num" }, cap(r.monthly_cap))))),
  tr("p", "checkins.maxAge", { class: "muted" }, { n: a?.max_age_days ?? 30 }));
  return card;
}

/** Every day of first..last (the API lists only days with figures). */
export function everyDay(first: string, last: string): string[] {
  const out: string[] = [];
  for (let d = new Date(`${first}T00:00:00Z`); out.length < 400; d.setUTCDate(d.getUTCDate() + 1)) {
    const iso = d.toISOString().slice(0, 10);
    if (iso > last) break;
    out.push(iso);
  }
  return out;
}

function checkinFigures(st: CheckinStats): HTMLElement[] {
  const chart = h("div", { class: "chart", role: "img", id: "chart-checkins" });
  chart.setAttribute("aria-label", t("checkins.chart"));
  const rows = st.days.filter((d) => DAY_COLS.some((c) => d[c])).map((d) => h("tr", { "data-date": d.date },
    h("th", { scope: "row" }, d.date),
    ...DAY_COLS.map((c) => h("td", { class: "num" }, num(d[c])))));
  rows.push(h("tr", { class: "total" }, tr("th", "checkins.total", { scope: "row" }),
    ...DAY_COLS.map((c) => h("td", { class: "num", "data-total": c }, num(st.totals[c])))));
  const days = everyDay(st.first, st.last);
  const by = new Map(st.days.map((d) => [d.date, d]));
  const series = (c: DayCol): number[] => days.map((d) => by.get(d)?.[c] ?? 0);
  void import("./resultsCharts").then(({ draw }) => draw(chart, days.map((d) => d.slice(5)), [
    { name: t("checkins.c.checkins"), values: series("checkins"), type: "bar" },
    { name: t("checkins.c.makeups"), values: series("makeups"), type: "bar" },
    { name: t("checkins.c.points_awarded"), values: series("points_awarded"), type: "line", axis: 1 }]));
  return [tr("h2", "checkins.figures", { id: "checkin-figures" }),
    h("div", { class: "kpis" }, ...DAY_COLS.map((c) => h("div", { class: "stat card", "data-kpi": c },
      tr("span", `checkins.c.${c}`, { class: "muted" }), h("span", { class: "big" }, num(st.totals[c]))))),
    h("section", { class: "card" }, tr("h3", "checkins.chart"), chart),
    tr("h3", "checkins.perDay"),
    table("checkin-days", "checkins.perDay", ["checkins.date", ...DAY_COLS.map((c) => `checkins.c.${c}`)], rows)];
}

function activityFigures(st: ActivityStats, rules: Record<string, Rule>): HTMLElement[] {
  const types = [...Object.keys(rules), ...Object.keys(st.totals).filter((k) => !(k in rules))];
  const cells = (s: TypeStats | undefined): HTMLElement[] =>
    TYPE_COLS.map((c) => h("td", { class: "num", "data-col": c }, num(s?.[c])));
  const totals = types.map((k) => h("tr", { "data-type": k },
    h("th", { scope: "row" }, rules[k]?.name || k, " ", h("code", {}, k)), ...cells(st.totals[k])));
  const daily = st.days.flatMap((d) => Object.entries(d.types).map(([k, s]) =>
    h("tr", { "data-date": d.date, "data-type": k }, h("th", { scope: "row" }, d.date),
      h("td", {}, h("code", {}, k)), ...cells(s))));
  const head = TYPE_COLS.map((c) => `checkins.a.${c}`);
  return [tr("h2", "checkins.activityFigures"),
    table("activity-totals", "checkins.activityFigures", ["checkins.type", ...head], totals),
    tr("p", "checkins.cappedNote", { class: "muted" }),
    tr("h3", "checkins.activityPerDay"),
    daily.length ? table("activity-days", "checkins.activityPerDay",
      ["checkins.date", "checkins.type", ...head], daily)
      : tr("p", "checkins.noActivityDays", { class: "muted" })];
}

async function program(): Promise<Program | null> {
  try {
    return (await call<{ program: Program }>("GET", "/admin/program")).program;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;  // no program yet
    throw e;
  }
}

export async function checkinsPage(main: HTMLElement): Promise<void> {
  const m = messages();
  const from = h("input", { id: "from", type: "date" });
  const to = h("input", { id: "to", type: "date" });
  const body = h("div", { id: "checkin-body", "aria-live": "polite" });
  let live: Program | null = null;
  let seq = 0;  // a slower earlier answer must not overwrite a later range
  const load = async (): Promise<void> => {
    const mine = ++seq;
    const q = new URLSearchParams();
    if (from.value) q.set("from", from.value);
    if (to.value) q.set("to", to.value);
    body.replaceChildren(tr("p", "checkins.loading", { class: "muted" }));
    try {
      const [c, a] = await Promise.all([call<CheckinStats>("GET", `/admin/checkins/stats?${q}`),
        call<ActivityStats>("GET", `/admin/activities/stats?${q}`)]);
      if (mine !== seq) return;
      from.value = c.first; to.value = c.last;
      m.say("checkins.range", { tz: live?.timezone ?? "—", from: c.first, to: c.last });
      body.replaceChildren(...checkinFigures(c), ...activityFigures(a, live?.activities?.types ?? {}));
    } catch (e) { if (mine === seq) { body.replaceChildren(); m.fail(e); } }
  };
  const form = h("form", { class: "filters", onsubmit: (ev: Event) => { ev.preventDefault(); void load(); } },
    h("div", { class: "field" }, tr("label", "checkins.from", { for: "from" }), from),
    h("div", { class: "field" }, tr("label", "checkins.to", { for: "to" }), to),
    h("div", { class: "field" }, tr("button", "checkins.show", { type: "submit", class: "primary" })));
  main.replaceChildren(tr("h1", "checkins.title"), m.notice, m.alert,
    tr("p", "checkins.loading", { class: "muted" }));
  try { live = await program(); } catch (e) { m.fail(e); return; }
  main.replaceChildren(tr("h1", "checkins.title"),
    h("div", { class: "cards" }, checkinCard(live?.checkin), activitiesCard(live?.activities)),
    tr("p", "checkins.editHint", { class: "muted" }), form, m.notice, m.alert, body);
  await load();
}
