// Coupon templates: the list with stock remaining (GET /admin/coupon-templates), and one
// template's page: its JSON in the shared editor with the committed template schema, the
// server's validation at JSON paths, save after a diff, the claim → reserve → redeem
// funnel, and code batches (generate, list, download).
import { call } from "../api";
import { bind, t } from "../i18n";
import { h, tr } from "../dom";
import { download, messages, num, problemsBox, problemsOf, when } from "./common";

interface TemplateView { template_id: string; version: number; updated_at: string;
  definition: Record<string, any>; stock: number | null; remaining: number | null }
interface Batch { batch_id: string; count: number; prefix?: string | null; created_at: string;
  created_by: string; csv_path: string }

const NEW_TEMPLATE = {
  $schema: "./coupon-template.schema.json", name: "新人 ¥10 券",
  benefit: { type: "fixed", amount: 1000 },
  validity: { starts_at: "2026-01-01T00:00:00+08:00", ends_at: "2026-12-31T23:59:59+08:00" },
  limits: { stock: 1000, per_member_claim: 1 },
};
const pretty = (d: unknown): string => JSON.stringify(d, null, 2);

export async function couponsPage(main: HTMLElement, id: string | null): Promise<void> {
  if (id !== null) return templatePage(main, id === "+new" ? null : id);
  const m = messages();
  const body = h("tbody");
  const count = h("p", { class: "muted", "aria-live": "polite", id: "count" });
  main.replaceChildren(
    h("div", { class: "titlebar" }, tr("h1", "coupons.title"),
      tr("a", "coupons.new", { href: "#/coupons/+new", class: "button primary" })),
    m.alert, count,
    h("div", { class: "table-wrap" }, h("table", { class: "list", id: "templates" },
      h("thead", {}, h("tr", {}, ...["coupons.name", "coupons.id", "coupons.status",
        "coupons.benefit", "coupons.stock", "coupons.remaining", "campaigns.version",
        "campaigns.updated"].map((k) => tr("th", k, { scope: "col" })))), body)));
  bind(count, "campaigns.loading");
  try {
    const rows: TemplateView[] = await call("GET", "/admin/coupon-templates");
    rows.sort((a, b) => a.template_id.localeCompare(b.template_id));
    body.replaceChildren(...rows.map((r) => h("tr", {},
      h("td", {}, h("a", { href: `#/coupons/${encodeURIComponent(r.template_id)}` },
        String(r.definition.name ?? r.template_id))),
      h("td", {}, h("code", {}, r.template_id)),
      h("td", {}, tr("span", `coupons.st.${r.definition.status ?? "active"}`)),
      h("td", {}, tr("span", `coupons.b.${r.definition.benefit?.type}`)),
      h("td", { class: "num" }, r.stock === null ? t("coupons.unlimited") : num(r.stock)),
      h("td", { class: "num" }, r.remaining === null ? "—" : num(r.remaining)),
      h("td", { class: "num" }, String(r.version)),
      h("td", {}, when(r.updated_at).slice(0, 16)))));
    bind(count, "coupons.count", { n: rows.length });
  } catch (e) { m.fail(e); count.textContent = ""; }
}

async function templatePage(main: HTMLElement, templateId: string | null,
  notice?: [string, Record<string, string | number>]): Promise<void> {
  const [{ createEditor }, { confirmDialog, diffView, problemItem }, schema] = await Promise.all([
    import("../editor"), import("../editorPage"),
    import("../../../campaigns/coupon-template.schema.json")]);
  const m = messages();
  let view: TemplateView | null = null;
  if (templateId) {
    try { view = await call("GET", `/admin/coupon-templates/${encodeURIComponent(templateId)}`); }
    catch (e) { main.replaceChildren(tr("a", "coupons.back", { href: "#/coupons" }), m.alert); m.fail(e); return; }
  }
  let stored = view ? pretty(view.definition) : "";
  const idInput = h("input", { id: "template-id", value: templateId ?? "", required: true,
    pattern: "^[a-z0-9][a-z0-9-]{1,62}$", maxlength: 63, autocomplete: "off" });
  if (templateId) idInput.readOnly = true;
  const host = h("div", { class: "editor-host", id: "editor" });
  const editor = createEditor(host, stored || pretty(NEW_TEMPLATE), t("coupons.editorLabel"),
    () => undefined, schema.default);
  const problems = problemsBox(editor, problemItem);
  const dialog = confirmDialog();
  const stock = h("p", { id: "stock" });
  const funnel = h("div", { id: "funnel", class: "funnel" });
  const batches = h("tbody");
  const tid = (): string => idInput.value.trim();
  const path = (): string => `/admin/coupon-templates/${encodeURIComponent(tid())}`;
  const parsed = (): Record<string, unknown> | null => {
    try { const v = JSON.parse(editor.text()); return v && typeof v === "object" ? v : null; }
    catch { return null; }
  };

  const validate = async (): Promise<boolean> => {
    if (!idInput.reportValidity()) return false;
    try {
      await call("POST", `${path()}/validate`, undefined, editor.text());
      problems.show([]);
      return true;
    } catch (e) {
      const p = problemsOf(e);
      if (p) problems.show(p); else m.fail(e);
      return false;
    }
  };
  const save = async (): Promise<void> => {
    if (!(await validate())) return;
    const doc = parsed()!;
    const ok = await dialog.ask("coupons.confirmSave", diffView(stored, pretty(
      Object.fromEntries(Object.entries(doc).filter(([k]) => k !== "$schema"))), !view),
    "editor.save");
    if (!ok) return;
    try {
      const r: TemplateView = await call("PUT", path(), undefined, editor.text());
      if (!view) {  // created: this page again, with the funnel and code batches
        history.replaceState(null, "", `#/coupons/${encodeURIComponent(tid())}`);
        await templatePage(main, tid(), ["coupons.created", { v: r.version }]);
        return;
      }
      view = r;
      stored = pretty(r.definition);
      m.say("editor.saved", { v: r.version });
      await refresh();
    } catch (e) {
      const p = problemsOf(e);
      if (p) problems.show(p); else m.fail(e);
    }
  };

  const refresh = async (): Promise<void> => {
    if (!view) return;
    bind(stock, view.stock === null ? "coupons.stockUnlimited" : "coupons.stockLine",
      { remaining: num(view.remaining), stock: num(view.stock) });
    try {
      const f = await call("GET", `${path()}/funnel`);
      const stages = [["claimed", f.claimed], ["reserved", f.reserved], ["redeemed", f.redeemed]];
      const top = Math.max(1, f.claimed, f.reserved, f.redeemed);
      funnel.replaceChildren(h("dl", { class: "funnel-list" }, ...stages.flatMap(([k, v]) => [
        tr("dt", `coupons.f.${k}`), h("dd", {}, h("span", { class: "bar",
          style: `width:${Math.round((Number(v) / top) * 100)}%` }),
        h("strong", { id: `funnel-${k}` }, num(v)))])));
      const list: Batch[] = await call("GET", `${path()}/codes`);
      batches.replaceChildren(...list.map((b) => h("tr", {},
        h("td", {}, h("code", {}, b.batch_id)), h("td", { class: "num" }, num(b.count)),
        h("td", {}, when(b.created_at).slice(0, 16)), h("td", {}, b.created_by),
        h("td", {}, tr("button", "coupons.download", { type: "button", class: "link",
          onclick: () => void download(b.csv_path, `${tid()}-${b.batch_id}.csv`).catch(m.fail) })))));
    } catch (e) { m.fail(e); }
  };

  const countInput = h("input", { id: "code-count", type: "number", min: 1, max: 100000,
    value: 100, required: true });
  const progress = h("progress", { id: "code-progress", hidden: true, "aria-labelledby": "codes-title" });
  const generate = h("form", { class: "inline-form", onsubmit: async (ev: Event) => {
    ev.preventDefault();
    if (!countInput.reportValidity()) return;
    progress.hidden = false;
    bind(m.notice, "coupons.generating", { n: countInput.value });
    try {
      const b: Batch = await call("POST", `${path()}/codes`, { count: Number(countInput.value) });
      m.say("coupons.generated", { n: num(b.count), id: b.batch_id });
      await refresh();
    } catch (e) { m.fail(e); }
    progress.hidden = true;
  } }, h("div", { class: "field" }, tr("label", "coupons.codeCount", { for: "code-count" }), countInput),
  tr("button", "coupons.generate", { type: "submit" }), progress);

  main.replaceChildren(
    tr("a", "coupons.back", { href: "#/coupons", class: "back" }),
    h("div", { class: "titlebar" }, view ? h("h1", {}, String(view.definition.name))
      : tr("h1", "coupons.new"), view ? h("span", { class: "muted" },
      tr("span", "editor.version", {}, { v: view.version })) : ""),
    h("div", { class: "toolbar", role: "toolbar" },
      tr("button", "editor.validate", { type: "button", onclick: () => void validate() }),
      tr("button", "editor.save", { type: "button", class: "primary", onclick: () => void save() })),
    m.alert, m.notice,
    h("div", { class: "editor-grid" },
      h("section", { class: "editor-col", "aria-labelledby": "tpl-editor" },
        h("div", { class: "field" }, tr("label", "coupons.id", { for: "template-id" }), idInput),
        tr("h2", "coupons.editorLabel", { id: "tpl-editor", class: "sr-only" }), problems.node, host),
      h("div", { class: "side" },
        h("section", { class: "preview", "aria-labelledby": "funnel-title" },
          tr("h2", "coupons.funnel", { id: "funnel-title" }), stock,
          view ? funnel : tr("p", "coupons.saveFirst", { class: "muted" })),
        h("section", { class: "preview", "aria-labelledby": "codes-title" },
          tr("h2", "coupons.codes", { id: "codes-title" }),
          view ? generate : tr("p", "coupons.saveFirst", { class: "muted" }),
          view ? h("div", { class: "table-wrap" }, h("table", { class: "list", id: "batches" },
            h("thead", {}, h("tr", {}, ...["coupons.batch", "coupons.count2", "coupons.createdAt",
              "coupons.createdBy", "coupons.file"].map((k) => tr("th", k, { scope: "col" })))),
            batches)) : ""))),
    dialog.node);
  if (notice) m.say(...notice);
  await refresh();
}
