// The campaign JSON editor: CodeMirror 6 with completion and hover docs from the committed
// campaigns/schema.json, and the server's validation shown as diagnostics. Loaded lazily
// (dynamic import) so the list page stays small.
import { EditorView, basicSetup } from "codemirror";
import { hoverTooltip, keymap } from "@codemirror/view";
import { EditorState } from "@codemirror/state";
import { json, jsonLanguage } from "@codemirror/lang-json";
import { lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { jsonCompletion, jsonSchemaHover, stateExtensions } from "codemirror-json-schema";
import schema from "../../campaigns/schema.json";
import type { Problem } from "./api";
import { lineCol, locate, offsetOf, spanOf } from "./jsonpos";

export interface Placed extends Problem { from: number; to: number; line: number; col: number;
  severity: "error" | "warning" }

export interface CampaignEditor {
  view: EditorView;
  text(): string;
  show(errors: Problem[], warnings: Problem[]): Placed[];
  focusAt(offset: number): void;
}

/** A JSON editor on ``schemaDoc`` (campaigns/schema.json unless another committed schema,
 * e.g. the coupon template's or the program's, is given). */
export function createEditor(parent: HTMLElement, doc: string, label: string,
  onChange: () => void, schemaDoc: object = schema): CampaignEditor {
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        basicSetup,
        json(),
        lintGutter(),
        EditorView.lineWrapping,
        jsonLanguage.data.of({ autocomplete: jsonCompletion() }),
        hoverTooltip(jsonSchemaHover()),
        stateExtensions(schemaDoc as any),
        EditorView.contentAttributes.of({ "aria-label": label }),
        // Escape leaves the editor for keyboard users (Tab is not captured by default).
        keymap.of([{ key: "Escape", run: (v) => { v.contentDOM.blur(); return true; } }]),
        EditorView.updateListener.of((u) => { if (u.docChanged) onChange(); }),
      ],
    }),
  });
  return {
    view,
    text: () => view.state.doc.toString(),
    show(errors, warnings) {
      const text = view.state.doc.toString();
      const map = locate(text);
      const place = (p: Problem, severity: "error" | "warning"): Placed => {
        // A syntax error carries its own position ("... line 2 column 9 (char 30)").
        const m = /line (\d+) column (\d+)/.exec(p.message);
        let span = spanOf(text, p.path, map);
        if (p.path === "/" && m) {
          const at = offsetOf(text, Number(m[1]), Number(m[2]));
          span = { from: at, to: Math.min(text.length, at + 1) };
        }
        const { line, col } = lineCol(text, span.from);
        return { ...p, severity, from: span.from, to: Math.max(span.to, span.from), line, col };
      };
      const placed = [...errors.map((e) => place(e, "error")),
        ...warnings.map((w) => place(w, "warning"))];
      const diagnostics: Diagnostic[] = placed.map((p) => ({
        from: p.from, to: p.to, severity: p.severity, source: p.path,
        message: p.hint ? `${p.message}\n${p.hint}` : p.message,
      }));
      view.dispatch(setDiagnostics(view.state, diagnostics));
      return placed;
    },
    focusAt(offset) {
      view.dispatch({ selection: { anchor: offset }, scrollIntoView: true });
      view.focus();
    },
  };
}
