// The loyalty program: tiers and earn rules of the live version (GET /admin/program), the
// published versions with a diff between any version and the one before it, and an edit in
// the shared JSON editor (program schema) published after a confirmation showing the diff.
import { call } from "../api";
import { bind, t } from "../i18n";
import { h, tr } from "../dom";
import { messages, num, problemsBox, problemsOf, when } from "./common";

interface Version { version: number; published_at?: string | null; published_by?: string | null;
  program: Record<string, any> }
const pretty = (d: unknown): string => JSON.stringify(d, null, 2);
const yuan = (minor: unknown): string => minor === null || minor === undefined ? "—"
  : `¥${(Number(minor) / 100).toLocaleString()}`;

/** A tier's upgrade gift (points and/or coupons, once per member), under its entry coupons. */
function giftLines(gift: any): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (gift?.points) out.push(h("br"), tr("span", "program.giftPoints", {}, { p: num(gift.points) }));
  if (gift?.coupon_templates?.length) {
    out.push(h("br"), tr("span", "program.giftCoupons", {}, { c: gift.coupon_templates.join(", ") }));
  }
  return out;
}

export async function programPage(main: HTMLElement): Promise<void> {
  const m = messages();
  let live: Version;
  let versions: { version: number; published_at?: string; published_by?: string }[];
  try {
    [live, { versions }] = await Promise.all([call("GET", "/admin/program"),
      call("GET", "/admin/program/versions")]);
  } catch (e) { main.replaceChildren(tr("h1", "program.title"), m.alert); m.fail(e); return; }
  const p = live.program;
  const diffBox = h("div", { id: "version-diff", "aria-live": "polite" });
  const editorBox = h("section", { id: "program-editor", "aria-labelledby": "program-edit-title" });
  const showDiff = async (v: number): Promise<void> => {
    const { diffView } = await import("../editorPage");
    try {
      const [a, b]: Version[] = await Promise.all([
        v > 1 ? call("GET", `/admin/program?version=${v - 1}`) : Promise.resolve({ program: {} }),
        call("GET", `/admin/program?version=${v}`)]);
      diffBox.replaceChildren(tr("h3", "program.diffTitle", {}, { a: v - 1, b: v }),
        diffView(pretty(a.program), pretty(b.program), v === 1));
    } catch (e) { m.fail(e); }
  };
  const openEditor = async (): Promise<void> => {
    const [{ createEditor }, { confirmDialog, diffView, problemItem }, schema] = await Promise.all([
      import("../editor"), import("../editorPage"), import("../../../campaigns/program.schema.json")]);
    const host = h("div", { class: "editor-host", id: "editor" });
    const stored = pretty(p);
    const editor = createEditor(host, stored, t("program.editorLabel"), () => undefined,
      schema.default);
    const problems = problemsBox(editor, problemItem);
    const dialog = confirmDialog();
    const publish = async (): Promise<void> => {
      let doc: unknown;
      try { doc = JSON.parse(editor.text()); }
      catch (e) { problems.show([{ path: "/", message: String(e) }]); return; }
      if (!(await dialog.ask("program.confirmPublish", diffView(stored, pretty(doc), false),
        "program.publish"))) return;
      try {
        const r: Version = await call("PUT", "/admin/program", undefined, editor.text());
        await programPage(main);
        const n = main.querySelector<HTMLElement>("[role=status]");
        if (n) bind(n, "program.published", { v: r.version });
      } catch (e) {
        const d = problemsOf(e);
        if (d) problems.show(d); else m.fail(e);
      }
    };
    editorBox.replaceChildren(tr("h2", "program.edit", { id: "program-edit-title" }),
      h("div", { class: "toolbar", role: "toolbar" },
        tr("button", "program.publish", { type: "button", class: "primary",
          onclick: () => void publish() })),
      problems.node, host, dialog.node);
    editor.view.focus();
  };
  const tiers: any[] = p.tiers ?? [];
  const earning = p.earning ?? {};
  const points = p.points ?? {};
  main.replaceChildren(
    h("div", { class: "titlebar" }, tr("h1", "program.title"),
      h("span", { class: "muted", id: "program-version" }, live.version
        ? tr("span", "program.liveVersion", {}, { v: live.version, at: when(live.published_at),
          by: live.published_by ?? "" }) : tr("span", "program.default")),
      tr("button", "program.edit", { type: "button", id: "edit-program",
        onclick: () => void openEditor() })),
    m.alert, m.notice,
    tr("h2", "program.tiers"),
    h("div", { class: "table-wrap" }, h("table", { class: "list", id: "tiers" },
      h("thead", {}, h("tr", {}, ...["program.tier", "program.minSpend", "program.minOrders",
        "program.combine", "program.multiplier", "program.birthday", "program.freeShipping",
        "program.coupons"].map((k) => tr("th", k, { scope: "col" })))),
      h("tbody", {}, ...tiers.map((x) => h("tr", {},
        h("td", {}, `${x.name} `, h("code", {}, x.id)),
        h("td", { class: "num" }, yuan(x.thresholds?.min_spend)),
        h("td", { class: "num" }, x.thresholds?.min_orders ?? "—"),
        h("td", {}, x.thresholds?.min_spend != null || x.thresholds?.min_orders != null
          ? tr("span", `program.combine.${x.thresholds?.combine ?? "any"}`) : "—"),
        h("td", { class: "num" }, `×${x.benefits?.points_multiplier ?? 1}`),
        h("td", { class: "num" }, x.benefits?.birthday_points_multiplier
          ? `×${x.benefits.birthday_points_multiplier}` : "—"),
        h("td", {}, x.benefits?.free_shipping_coupons_per_month
          ? tr("span", "program.perMonth", {}, { n: x.benefits.free_shipping_coupons_per_month })
          : "—"),
        h("td", {}, (x.benefits?.coupon_templates ?? []).join(", ") || "—",
          ...giftLines(x.benefits?.upgrade_gift))))))),
    tr("h2", "program.earning"),
    h("dl", { class: "facts", id: "earning" },
      tr("dt", "program.perUnit"), h("dd", {}, String(earning.points_per_unit ?? 1)),
      tr("dt", "program.categories"), h("dd", {}, Object.entries(earning.category_multipliers ?? {})
        .map(([k, v]) => `${k} ×${v}`).join(", ") || "—"),
      tr("dt", "program.maxPerOrder"), h("dd", {}, earning.max_points_per_order
        ? num(earning.max_points_per_order) : "—"),
      tr("dt", "program.expiry"), h("dd", {}, tr("span", "program.months", {},
        { n: points.expiry_months ?? 12 })),
      tr("dt", "program.pending"), h("dd", {}, tr("span", "program.days", {},
        { n: points.pending_days ?? 0 }))),
    tr("h2", "program.versions"),
    versions.length ? h("div", { class: "table-wrap" }, h("table", { class: "list", id: "versions" },
      h("thead", {}, h("tr", {}, ...["campaigns.version", "program.publishedAt", "program.publishedBy",
        "program.changes"].map((k) => tr("th", k, { scope: "col" })))),
      h("tbody", {}, ...versions.map((v) => h("tr", {},
        h("td", { class: "num" }, String(v.version)), h("td", {}, when(v.published_at)),
        h("td", {}, v.published_by ?? ""),
        h("td", {}, tr("button", "program.showDiff", { type: "button", class: "link",
          onclick: () => void showDiff(v.version) }, { v: v.version }))))))) : tr("p", "program.noVersions", { class: "muted" }),
    diffBox, editorBox);
}
