// Campaign editor: CodeMirror on the JSON, the server's validation inline, a diff against the
// stored version before any save or status change, confirmation dialogs, and the preview.
import { ApiError, call, type Problem } from "./api";
import { bind, t } from "./i18n";
import { h, tr } from "./dom";
import { hunks, lineDiff } from "./diff";
import { statusBadge } from "./campaigns";
import { errorText } from "./util";
import { createEditor, type CampaignEditor, type Placed } from "./editor";
import { audienceView, historyPanel, pollExact, projectionView, sampleSizePicker,
  timezonesView } from "./pages/review";

interface CampaignRecord { campaign_id: string; version: number; status: string; name: string;
  campaign: Record<string, unknown>; result?: string; warnings?: Problem[] }
type Action = "save" | "publish" | "pause" | "end";

const NEXT: Record<string, Action[]> = {
  none: ["publish"], draft: ["publish", "end"], active: ["pause", "end"],
  paused: ["publish", "end"], ended: [],
};
const TARGET: Record<string, string> = { publish: "active", pause: "paused", end: "ended" };

const NEW_CAMPAIGN = {
  $schema: "./schema.json", id: "new-campaign", name: "New campaign", status: "draft",
  window: { start: "2026-01-01T00:00:00+08:00", end: "2026-12-31T23:59:59+08:00" },
  timezone: "Asia/Shanghai",
  trigger: { type: "once", at: "2026-06-01T10:00:00+08:00" },
  audience: { all: [] }, actions: [],
};

const pretty = (doc: unknown): string => JSON.stringify(doc, null, 2);

function parsed(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" && !Array.isArray(v) ? v : null;
  } catch { return null; }
}

export async function editorPage(main: HTMLElement, campaignId: string | null): Promise<void> {
  let record: CampaignRecord | null = null;
  const alert = h("p", { role: "alert", class: "alert" });
  if (campaignId) {
    try { record = await call("GET", `/admin/campaigns/${encodeURIComponent(campaignId)}`); }
    catch (e) {
      main.replaceChildren(tr("a", "editor.back", { href: "#/campaigns" }),
        h("p", { role: "alert", class: "alert" }, errorText(e)));
      return;
    }
  }
  let stored = record ? pretty(record.campaign) : "";
  const title = h("h1", {});
  const status = h("span", { id: "campaign-status" });
  const notice = h("p", { role: "status", class: "notice", "aria-live": "polite" });
  const toolbar = h("div", { class: "toolbar", role: "toolbar" });
  const problems = h("ul", { class: "problems", id: "problems" });
  const summary = h("p", { class: "muted", id: "problem-summary" });
  const previewBody = h("div", { id: "preview-body" }, tr("p", "preview.hint", { class: "muted" }));
  const host = h("div", { class: "editor-host", id: "editor" });
  const dialog = confirmDialog();
  const sampleSize = sampleSizePicker();
  let previewRun = 0; // a newer preview stops the older one's polling
  const editor: CampaignEditor = createEditor(host, stored || pretty(NEW_CAMPAIGN),
    t("editor.label"), () => undefined);

  const docId = (): string => {
    const id = parsed(editor.text())?.id;
    return typeof id === "string" && id ? id : (campaignId ?? "new-campaign");
  };
  const say = (key: string, args: Record<string, string | number> = {}): void => {
    bind(notice, key, args); alert.textContent = "";
  };
  const fail = (e: unknown): void => {
    notice.textContent = "";
    if (e instanceof ApiError && e.status === 400 && e.details.length) showProblems(e.details, []);
    else alert.textContent = errorText(e);
  };
  const showProblems = (errors: Problem[], warnings: Problem[]): void => {
    const placed = editor.show(errors, warnings);
    problems.replaceChildren(...placed.map((p) => problemItem(p, editor)));
    if (!errors.length) bind(summary, "editor.valid");
    else bind(summary, "editor.errorCount", { n: errors.length });
    if (warnings.length) summary.append(" · ", tr("span", "editor.warningCount", {}, { n: warnings.length }));
  };
  const refresh = (): void => {
    if (record) { delete title.dataset.i18n; title.textContent = record.name; }
    else bind(title, "editor.new");
    status.replaceChildren(record ? statusBadge(record.status) : "",
      record ? h("span", { class: "muted" }, " · ", tr("span", "editor.version", {}, { v: record.version })) : "");
    void versions.load(); // every save, status change and rollback is a new version
    const actions: Action[] = ["save", ...NEXT[record?.status ?? "none"]];
    toolbar.replaceChildren(
      tr("button", "editor.validate", { type: "button", onclick: () => void validate() }),
      tr("button", "editor.preview", { type: "button", onclick: () => void preview() }),
      ...actions.map((a) => tr("button", `editor.${a}`, { type: "button",
        class: a === "publish" ? "primary" : a === "end" ? "danger" : "",
        onclick: () => void confirmThen(a) })));
  };

  async function validate(): Promise<boolean> {
    try {
      const r: { valid: boolean; errors: Problem[]; warnings: Problem[] } = await call(
        "POST", `/admin/campaigns/${encodeURIComponent(docId())}/validate`, undefined, editor.text());
      showProblems(r.errors, r.warnings);
      return r.valid;
    } catch (e) { fail(e); return false; }
  }

  async function save(): Promise<boolean> {
    const id = docId();
    try {
      const r: CampaignRecord = await call("PUT", `/admin/campaigns/${encodeURIComponent(id)}`,
        undefined, editor.text());
      record = r;
      stored = pretty(r.campaign);
      showProblems([], r.warnings ?? []);
      if (r.result === "unchanged") say("editor.unchanged");
      else say("editor.saved", { v: r.version });
      if (!campaignId) { campaignId = id; history.replaceState(null, "", `#/campaigns/${id}`); }
      refresh();
      return true;
    } catch (e) { fail(e); return false; }
  }

  async function confirmThen(action: Action): Promise<void> {
    const text = editor.text();
    const doc = parsed(text);
    if (!doc) { await validate(); return; }
    const changed = !record || pretty(doc) !== stored;
    const ok = await dialog.ask(`dialog.${action}`, action === "save" || changed
      ? diffView(stored, pretty(doc), !record) : null, `editor.${action}`);
    if (!ok) return;
    if (action === "save") { await save(); return; }
    if (changed && !(await save())) return;
    try {
      record = await call("POST", `/admin/campaigns/${encodeURIComponent(docId())}/status`,
        { status: TARGET[action] });
      stored = pretty(record!.campaign);
      // Keep the editor on what is stored now (its status field changed server-side).
      editor.view.dispatch({ changes: { from: 0, to: editor.view.state.doc.length, insert: stored } });
      say("editor.statusChanged", { s: t(`status.${record!.status}`) });
      refresh();
    } catch (e) { fail(e); }
  }

  async function preview(): Promise<void> {
    const doc = parsed(editor.text());
    if (!doc) { await validate(); return; }
    try {
      const run = ++previewRun;
      const r = await call("POST", `/admin/campaigns/${encodeURIComponent(docId())}/preview`,
        { campaign: doc, samples: 5, scan_limit: sampleSize.value() });
      const slot = h("div", { id: "audience-slot" }, audienceView(r.audience ?? {}));
      previewBody.replaceChildren(slot, previewView(r), timezonesView(r), projectionView(r));
      showProblems([], r.warnings ?? []);
      if (r.audience?.job_id) void pollExact(r.campaign_id, r.audience.job_id, slot,
        () => run === previewRun && slot.isConnected);
    } catch (e) { fail(e); }
  }

  const versions = historyPanel({
    campaignId: () => (record ? record.campaign_id : null), currentText: () => editor.text(),
    confirm: (k, body, ok) => dialog.ask(k, body, ok), say,
    onRolledBack: (r: CampaignRecord) => {
      record = r; stored = pretty(r.campaign);
      editor.view.dispatch({ changes: { from: 0, to: editor.view.state.doc.length, insert: stored } });
      refresh();
    },
  });
  refresh();
  main.replaceChildren(
    tr("a", "editor.back", { href: "#/campaigns", class: "back" }),
    h("div", { class: "titlebar" }, title, status), toolbar, alert, notice,
    h("div", { class: "editor-grid" },
      h("section", { class: "editor-col", "aria-labelledby": "editor-label" },
        tr("h2", "editor.label", { id: "editor-label", class: "sr-only" }),
        // Problems above the editor: visible at 1280x800 without scrolling past the JSON.
        h("section", { "aria-labelledby": "problems-title", class: "problems-box" },
          tr("h2", "editor.problems", { id: "problems-title", class: "sr-only" }), summary,
          problems), host),
      h("section", { class: "preview", id: "preview", "aria-labelledby": "preview-title" },
        tr("h2", "preview.title", { id: "preview-title" }), sampleSize.node, previewBody),
      versions.node),
    dialog.node);
}

export function problemItem(p: Placed, editor: CampaignEditor): HTMLElement {
  return h("li", { class: `problem ${p.severity}` },
    h("button", { type: "button", class: "link", onclick: () => editor.focusAt(p.from) },
      tr("span", "editor.at", { class: "where" }, { line: p.line, col: p.col })),
    " ", h("code", {}, p.path), " ", h("span", { class: "message" }, p.message),
    p.hint ? h("div", { class: "hint" }, tr("span", "editor.hint", {}, { hint: p.hint })) : "");
}

export function diffView(before: string, after: string, isNew: boolean): HTMLElement {
  const lines = hunks(lineDiff(before, after));
  const pre = h("pre", { class: "diff", tabindex: 0 });
  if (isNew) return h("div", {}, tr("p", "dialog.newDoc"));
  if (!lines.length) return h("div", {}, tr("p", "dialog.noDiff"));
  for (const l of lines) {
    if (l === null) { pre.append(h("span", { class: "gap" }, "…\n")); continue; }
    const cls = l.op === "+" ? "add" : l.op === "-" ? "del" : "ctx";
    pre.append(h(l.op === "+" ? "ins" : l.op === "-" ? "del" : "span", { class: cls },
      `${l.op} ${l.text}\n`));
  }
  return h("div", {}, tr("h3", "dialog.diff"), pre);
}

export function confirmDialog(): { node: HTMLDialogElement; ask(titleKey: string, body: HTMLElement | null,
  confirmKey: string): Promise<boolean> } {
  const title = h("h2", { id: "confirm-title" });
  const body = h("div", { class: "dialog-body" });
  const ok = h("button", { type: "submit", value: "ok", class: "primary" });
  const node = h("dialog", { id: "confirm", "aria-labelledby": "confirm-title" },
    h("form", { method: "dialog" }, title, body, h("div", { class: "buttons" },
      tr("button", "dialog.cancel", { type: "submit", value: "cancel" }), ok)));
  return {
    node,
    ask(titleKey, content, confirmKey) {
      bind(title, titleKey);
      bind(ok, confirmKey);
      body.replaceChildren(content ?? "");
      node.returnValue = "";
      node.showModal();
      return new Promise((resolve) => {
        node.addEventListener("close", () => resolve(node.returnValue === "ok"), { once: true });
      });
    },
  };
}

function previewView(r: any): HTMLElement {
  // The audience block is audienceView (pages/review.ts): the estimate, then the exact count.
  const samples: any[] = r.samples ?? [];
  return h("div", {},
    tr("h3", "preview.samples"),
    samples.length ? h("table", { class: "list samples" },
      h("thead", {}, h("tr", {}, ...["preview.member", "preview.tier", "preview.timezone",
        "preview.next", "preview.message"].map((k) => tr("th", k, { scope: "col" })))),
      h("tbody", {}, ...samples.map((s) => h("tr", {},
        h("td", {}, h("code", {}, String(s.member_id ?? ""))),
        h("td", {}, String(s.tier ?? "")), h("td", {}, String(s.timezone ?? "")),
        h("td", {}, String((s.next ?? [])[0] ?? "").slice(0, 16).replace("T", " ")),
        h("td", {}, String(s.messages?.[0]?.title ?? "")))))) : tr("p", "preview.none"));
}
