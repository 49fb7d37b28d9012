// Shared bits of the coupon, program, member and audit pages (small; loaded with them).
import { ApiError, call, session, type Problem } from "../api";
import { bind } from "../i18n";
import { h, tr } from "../dom";
import { errorText } from "../util";
import type { CampaignEditor } from "../editor";

export const when = (iso?: string | null): string =>
  (iso ?? "").slice(0, 19).replace("T", " ");

export const num = (n: unknown): string => Number(n ?? 0).toLocaleString();

/** A CSV (or any text) the API serves behind the bearer token, saved as a file. */
export async function download(path: string, filename: string): Promise<void> {
  const resp = await fetch(`/api${path}`, { headers: { Authorization: `Bearer ${session.token}` } });
  if (!resp.ok) throw new ApiError(resp.status, String(resp.status), resp.statusText);
  const url = URL.createObjectURL(await resp.blob());
  const a = h("a", { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Title + notice + alert used by every page; ``fail`` shows a 400's paths in the editor. */
export function messages(): { alert: HTMLElement; notice: HTMLElement;
  say(key: string, args?: Record<string, string | number>): void; fail(e: unknown): void } {
  const alert = h("p", { role: "alert", class: "alert" });
  const notice = h("p", { role: "status", class: "notice", "aria-live": "polite" });
  return {
    alert, notice,
    say(key, args = {}) { bind(notice, key, args); alert.textContent = ""; },
    fail(e) { notice.textContent = ""; alert.textContent = errorText(e); },
  };
}

/** The problems list above an editor: each problem placed at its JSON path (line/column). */
export function problemsBox(editor: CampaignEditor, item: (p: any, e: CampaignEditor) => HTMLElement):
  { node: HTMLElement; show(errors: Problem[]): void } {
  const list = h("ul", { class: "problems", id: "problems" });
  const summary = h("p", { class: "muted", id: "problem-summary" });
  return {
    node: h("section", { "aria-labelledby": "problems-title", class: "problems-box" },
      tr("h2", "editor.problems", { id: "problems-title", class: "sr-only" }), summary, list),
    show(errors) {
      const placed = editor.show(errors, []);
      list.replaceChildren(...placed.map((p) => item(p, editor)));
      if (errors.length) bind(summary, "editor.errorCount", { n: errors.length });
      else bind(summary, "editor.valid");
    },
  };
}

/** A 400 with details goes to the editor; anything else to the alert. */
export function problemsOf(e: unknown): Problem[] | null {
  return e instanceof ApiError && e.status === 400 && e.details.length ? e.details : null;
}

export async function safeCall<T>(fn: () => Promise<T>, fail: (e: unknown) => void
): Promise<T | null> {
  try { return await fn(); } catch (e) { fail(e); return null; }
}

export { call };
