// The editor's review panels: the preview (an estimate with its margin at once, then the exact
// count when the background job finishes) and the version history (diff against the current
// JSON, one-click rollback with confirmation). Mounted by editorPage.ts.
import { ApiError, call } from "../api";
import { h, tr } from "../dom";
import { bind, t } from "../i18n";
import { hunks, lineDiff } from "../diff";
import { errorText } from "../util";

const POLL_MS = 1000;
const POLL_MAX = 120; // two minutes; the page keeps the estimate if the count takes longer
export const SAMPLE_SIZES = [100, 500, 2000];

const fmt = (n: unknown): string => Number(n ?? 0).toLocaleString();
const cid = (id: string): string => encodeURIComponent(id);

/** The audience block: an estimate "12,300 ± 410" with a pending note, or an exact count. */
export function audienceView(a: any): HTMLElement {
  const size = h("strong", { id: "audience-size", class: "big" }, fmt(a.size));
  if (!a.exact && a.margin != null) size.append(h("span", { id: "audience-margin" }, ` ± ${fmt(a.margin)}`));
  const note = a.exact
    ? tr("span", "preview.exact", { class: "muted", id: "audience-kind" }, { n: fmt(a.profiles_read) })
    : tr("span", "review.estimate", { class: "muted", id: "audience-kind" },
      { n: fmt(a.profiles_read), low: fmt(a.low), high: fmt(a.high) });
  const counting = !a.exact && a.job_id
    ? tr("span", "review.counting", { class: "muted", id: "audience-counting", role: "status" }) : "";
  return h("div", { class: "stat", id: "audience", "data-exact": a.exact ? "true" : "false" },
    tr("span", "preview.audience", { class: "label" }), size, note, counting);
}

/** Poll the count job and swap the exact size into ``slot`` (stops when ``alive`` says so). */
export async function pollExact(campaignId: string, jobId: string, slot: HTMLElement,
  alive: () => boolean): Promise<void> {
  for (let i = 0; i < POLL_MAX && alive(); i++) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    if (!alive()) return;
    try {
      const job = await call("GET", `/admin/campaigns/${cid(campaignId)}/preview/${encodeURIComponent(jobId)}`);
      if (job.status === "done" && job.audience) {
        const view = audienceView(job.audience);
        view.append(tr("span", "review.wasEstimate", { class: "muted" },
          { size: fmt(job.estimate?.size), margin: fmt(job.estimate?.margin) }));
        slot.replaceChildren(view);
        return;
      }
      if (job.status === "failed") {
        slot.querySelector("#audience-counting")?.replaceWith(tr("span", "review.countFailed", { class: "muted" }));
        return;
      }
    } catch { /* keep the estimate; try again */ }
  }
}

// Definition lists, not tables: the samples table stays the panel's only table.

/** The sample's largest timezones with their next occurrences in member local time. */
export function timezonesView(r: any): HTMLElement | string {
  const zones: any[] = r.timezones ?? [];
  if (!zones.length) return "";
  const byTz = r.occurrences?.by_timezone ?? {};
  return h("div", {}, tr("h3", "review.timezones"),
    h("dl", { class: "kv", id: "timezones" }, ...zones.flatMap((z) => [
      h("dt", {}, `${z.timezone} · ${Math.round(Number(z.share) * 100)}%`),
      h("dd", {}, String((byTz[z.timezone] ?? [])[0] ?? "—").slice(0, 16).replace("T", " "))])));
}

/** Projected sends and cost against the budget. */
export function projectionView(r: any): HTMLElement | string {
  const p = r.projection;
  const items = Object.entries(p?.projected ?? {});
  if (!items.length) return "";
  return h("div", {}, tr("h3", "review.projection"),
    h("dl", { class: "kv", id: "projection" }, ...items.flatMap(([what, n]) => {
      const b = p.budget?.[what] ?? {};
      return [h("dt", {}, what), h("dd", {}, fmt(n), b.budget == null ? "" : ` / ${fmt(b.budget)} `,
        b.within == null ? "" : tr("span", b.within ? "review.within" : "review.over",
          { class: b.within ? "muted" : "alert" }))];
    })));
}

/** Sample size picker (bigger: a tighter margin, a slower answer). */
export function sampleSizePicker(): { node: HTMLElement; value(): number } {
  const select = h("select", { id: "sample-size" },
    ...SAMPLE_SIZES.map((n) => h("option", { value: String(n), selected: n === 2000 }, fmt(n))));
  return {
    node: h("label", { class: "inline" }, tr("span", "review.sampleSize"), " ", select),
    value: () => Number(select.value),
  };
}

interface Version { version: number; status?: string; updated_at?: string; updated_by?: string }

/** The version history: view a version's diff against the editor, roll back to it. */
export function historyPanel(opts: {
  campaignId: () => string | null; currentText: () => string;
  confirm: (titleKey: string, body: HTMLElement | null, confirmKey: string) => Promise<boolean>;
  onRolledBack: (record: any) => void; say: (key: string, args?: Record<string, string | number>) => void;
}): { node: HTMLElement; load(): Promise<void> } {
  const list = h("ol", { class: "versions", id: "versions", reversed: true });
  const detail = h("div", { id: "version-diff" });
  const node = h("section", { class: "preview", id: "history", "aria-labelledby": "history-title" },
    tr("h2", "review.history", { id: "history-title" }), list, detail);

  async function view(v: number): Promise<string | null> {
    const id = opts.campaignId()!;
    const r = await call("GET", `/admin/campaigns/${cid(id)}?version=${v}`);
    return JSON.stringify(r.campaign, null, 2);
  }

  function diffOf(before: string, after: string): HTMLElement {
    const lines = hunks(lineDiff(before, after));
    if (!lines.length) return tr("p", "dialog.noDiff");
    const pre = h("pre", { class: "diff", tabindex: 0, "aria-label": t("review.diffLabel") });
    for (const l of lines) {
      if (l === null) { pre.append(h("span", { class: "gap" }, "…\n")); continue; }
      pre.append(h(l.op === "+" ? "ins" : l.op === "-" ? "del" : "span",
        { class: l.op === "+" ? "add" : l.op === "-" ? "del" : "ctx" }, `${l.op} ${l.text}\n`));
    }
    return pre;
  }

  /** A failure with the server's details (JSON path and message), e.g. a rollback to a
   * version that no longer validates. */
  function failure(e: unknown): HTMLElement {
    const box = h("div", { role: "alert", class: "alert", id: "history-error" }, h("p", {}, errorText(e)));
    const details = e instanceof ApiError ? e.details : [];
    if (details.length) {
      box.append(h("ul", { class: "problems" }, ...details.map((d: any) =>
        h("li", {}, h("code", {}, String(d.path ?? "/")), " ", String(d.message ?? "")))));
    }
    return box;
  }

  async function rollback(v: number, current: number): Promise<void> {
    const id = opts.campaignId()!;
    try {
      const old = await view(v);
      const ok = await opts.confirm("review.rollbackTitle",
        h("div", {}, tr("p", "review.rollbackExplain", {}, { v }), diffOf(opts.currentText(), old ?? "")),
        "review.rollback");
      if (!ok) return;
      const r = await call("POST", `/admin/campaigns/${cid(id)}/rollback`,
        { version: v, expected_version: current });
      opts.onRolledBack(r);
      opts.say(r.result === "unchanged" ? "editor.unchanged" : "review.rolledBack", { v, n: r.version });
      await load();
    } catch (e) { detail.replaceChildren(failure(e)); }
  }

  async function load(): Promise<void> {
    const id = opts.campaignId();
    if (!id) { list.replaceChildren(tr("li", "review.noHistory", { class: "muted" })); return; }
    try {
      const r: { current: number; items: Version[] } = await call("GET", `/admin/campaigns/${cid(id)}/versions`);
      list.replaceChildren(...r.items.map((v) => h("li", { "data-version": String(v.version) },
        tr("span", "editor.version", {}, { v: v.version }), " ",
        h("span", { class: "muted" }, `${v.status ?? ""} · ${(v.updated_at ?? "").slice(0, 16).replace("T", " ")} · ${v.updated_by ?? ""}`),
        v.version === r.current ? tr("span", "review.live", { class: "badge" }) : "",
        " ",
        tr("button", "review.diff", { type: "button", class: "link", "data-action": "diff",
          onclick: async () => {
            try {
              const old = await view(v.version);
              detail.replaceChildren(bind(h("h3", {}), "review.diffTitle", { v: v.version }),
                diffOf(old ?? "", opts.currentText()));
            } catch (e) { detail.replaceChildren(h("p", { role: "alert", class: "alert" }, errorText(e))); }
          } }),
        v.version === r.current ? "" : tr("button", "review.rollback", { type: "button",
          "data-action": "rollback", onclick: () => void rollback(v.version, r.current) }))));
    } catch (e) { list.replaceChildren(h("li", { role: "alert", class: "alert" }, errorText(e))); }
  }

  return { node, load };
}
