import "./style.css";
import { applyLang, bind, lang, setLang, t } from "./i18n";
import { devToken, refusal, session, setOnUnauthenticated } from "./api";
import { go } from "./util";
import { h, tr } from "./dom";
import { campaignsPage } from "./campaigns";
import { NAV, PAGES } from "./pages";
import { SignInError, authorizeUrl, completeSignIn, loadConfig, logoutUrl } from "./auth";

const main = document.getElementById("main") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;

function header(): void {
  const claims = session.claims;
  nav.replaceChildren(
    claims ? tr("a", "nav.campaigns", { href: "#/campaigns" }) : "",
    ...(claims ? NAV.map((p) => tr("a", `nav.${p}`, { href: `#/${p}` })) : []),
    claims ? h("span", { class: "who" }, `${claims.sub} · `,
      tr("span", `role.${claims.roles.includes("admin") ? "admin" : "marketer"}`)) : "",
    claims ? tr("button", "nav.signout", { type: "button", onclick: async () => {
      session.clear();
      const out = logoutUrl(await loadConfig());
      if (out) location.assign(out); else go("#/signin"); } }) : "",
    tr("button", "lang.toggle", { type: "button", id: "lang", onclick: () => {
      setLang(lang === "en" ? "zh-CN" : "en"); } }),
  );
}

async function signinPage(notice?: string): Promise<void> {
  const cfg = await loadConfig();
  const alert = h("p", { role: "alert", class: "alert", id: "signin-alert" });
  if (notice) bind(alert, notice);
  const role = h("select", { id: "role", name: "role" },
    tr("option", "role.marketer", { value: "marketer" }), tr("option", "role.admin", { value: "admin" }));
  const sub = h("input", { id: "sub", name: "sub", value: "marketer-1", autocomplete: "username",
    required: true, maxlength: 64 });
  const token = h("textarea", { id: "token", name: "token", rows: 3, spellcheck: "false" });
  const accept = (tok: string): void => {
    const why = refusal(tok);
    if (why) { bind(alert, `signin.${why}`); return; }
    session.set(tok);
    go("#/campaigns");
  };
  const dev = h("form", { class: "card", onsubmit: async (ev: Event) => {
    ev.preventDefault();
    try { accept(await devToken(role.value, sub.value.trim())); }
    catch { bind(alert, "signin.devUnavailable"); }
  } },
  h("fieldset", {}, tr("legend", "signin.dev"),
    h("div", { class: "field" }, tr("label", "signin.role", { for: "role" }), role),
    h("div", { class: "field" }, tr("label", "signin.sub", { for: "sub" }), sub),
    tr("button", "signin.submit", { type: "submit", class: "primary" })));
  const paste = h("form", { class: "card", onsubmit: (ev: Event) => {
    ev.preventDefault(); accept(token.value.trim()); } },
  h("div", { class: "field" }, tr("label", "signin.token", { for: "token" }), token),
  tr("button", "signin.useToken", { type: "submit" }));
  // The hosted UI (deployed stages) or the dev sign-in (the local server's config only).
  const sso = cfg.signin === "cognito" && h("form", { class: "card", onsubmit: async (ev: Event) => {
    ev.preventDefault(); location.assign(await authorizeUrl(cfg)); } },
  h("fieldset", {}, tr("legend", "signin.cognitoTitle"), tr("p", "signin.cognitoHint", { class: "muted" }),
    tr("button", "signin.cognito", { type: "submit", class: "primary" })));
  main.replaceChildren(tr("h1", "signin.title"), alert,
    h("div", { class: "signin" }, sso, cfg.signin === "dev" && dev, paste));
}

/** A hosted-UI redirect back: keep its token, or say why not. */
async function signInCallback(): Promise<void> {
  let notice: string | null = null;
  try {
    const tok = await completeSignIn(await loadConfig(), new URL(location.href));
    if (!tok) return;
    const why = refusal(tok);
    if (why) notice = `signin.${why}`;
    else { session.set(tok); history.replaceState(null, "", "#/campaigns"); }
  } catch (e) {
    notice = `signin.${e instanceof SignInError ? e.reason : "exchange"}`;
  }
  if (notice) history.replaceState({ notice }, "", "#/signin");
}

let callbackChecked = false;

async function route(): Promise<void> {
  if (!callbackChecked) { callbackChecked = true; await signInCallback(); }
  const hash = location.hash || "#/campaigns";
  header();
  if (!session.token && hash !== "#/signin") { go("#/signin"); return; }
  const [, page, id] = hash.split("/");
  if (page === "signin") await signinPage(history.state?.notice);
  else if (page === "campaigns" && id) {
    main.replaceChildren(tr("p", "editor.loading", { class: "muted" }));
    const { editorPage } = await import("./editorPage");
    await editorPage(main, decodeURIComponent(id));
  } else if (page === "results" && id) {
    const { resultsPage } = await import("./pages/results");
    await resultsPage(main, decodeURIComponent(id));
  } else if (page === "new") {
    const { editorPage } = await import("./editorPage");
    await editorPage(main, null);
  } else if (PAGES[page]) {
    await (await PAGES[page]())(main, id ? decodeURIComponent(id) : null);
  } else await campaignsPage(main);
  applyLang();
  main.focus({ preventScroll: true });
}

setOnUnauthenticated(() => {
  session.clear();
  history.replaceState({ notice: "signin.expired" }, "", "#/signin");
  void route();
});
window.addEventListener("hashchange", () => void route());
document.getElementById("skip")?.addEventListener("click", (e) => {
  e.preventDefault(); main.focus();
});
void route();
