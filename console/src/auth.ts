// Which sign-in this deployment offers, and the production one: the Cognito hosted UI with
// the authorization code flow and PKCE (RFC 7636, S256). The console is a public client (no
// secret can live in a browser), so the code is bound to a one-time verifier kept in
// sessionStorage (this tab only) and exchanged at the token endpoint by the page itself.

/** config.json next to index.html: the local server answers "dev"; a deploy writes "cognito". */
export interface ConsoleConfig {
  signin: "dev" | "cognito" | "token";
  authority?: string;   // https://PREFIX.auth.REGION.amazoncognito.com
  client_id?: string;
  redirect_uri?: string;
  scope?: string;
}

export class SignInError extends Error {
  constructor(public reason: "denied" | "state" | "exchange") { super(reason); }
}

const VERIFIER = "perks.console.pkce.verifier";
const STATE = "perks.console.pkce.state";

export function base64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** 32 random bytes → 43 characters of [A-Za-z0-9-_], RFC 7636's recommended verifier. */
export function randomVerifier(bytes = 32): string {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  return base64url(b);
}

/** code_challenge = BASE64URL(SHA-256(ASCII(code_verifier))). */
export async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

let config: Promise<ConsoleConfig> | null = null;

export function loadConfig(): Promise<ConsoleConfig> {
  config ??= (async (): Promise<ConsoleConfig> => {
    try {
      const resp = await fetch("config.json", { cache: "no-store" });
      const c = resp.ok ? await resp.json() : null;
      if (c?.signin === "dev") return { signin: "dev" };
      if (c?.signin === "cognito" && [c.authority, c.client_id, c.redirect_uri, c.scope]
        .every((v) => typeof v === "string" && v) && /^https?:\/\//.test(c.authority)) return c;
    } catch { /* no config: paste a token */ }
    // Without a usable config the page offers only a pasted token, never the dev sign-in.
    return { signin: "token" };
  })();
  return config;
}

/** The hosted UI's authorize URL; remembers this attempt's verifier and state in the tab. */
export async function authorizeUrl(cfg: ConsoleConfig): Promise<string> {
  const verifier = randomVerifier();
  const state = randomVerifier(16);
  sessionStorage.setItem(VERIFIER, verifier);
  sessionStorage.setItem(STATE, state);
  const q = new URLSearchParams({
    response_type: "code", client_id: cfg.client_id!, redirect_uri: cfg.redirect_uri!,
    scope: cfg.scope!, state, code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
  });
  return `${cfg.authority}/oauth2/authorize?${q}`;
}

/**
 * The access token for a hosted-UI redirect back (?code&state or ?error), or null when the
 * page was not opened by one. The code leaves the address bar and history at once; the
 * verifier is used once. A state that is not this tab's own is refused (login CSRF).
 */
export async function completeSignIn(cfg: ConsoleConfig, url: URL): Promise<string | null> {
  const p = url.searchParams;
  if (cfg.signin !== "cognito" || (!p.has("code") && !p.has("error"))) return null;
  const verifier = sessionStorage.getItem(VERIFIER);
  const state = sessionStorage.getItem(STATE);
  sessionStorage.removeItem(VERIFIER);
  sessionStorage.removeItem(STATE);
  history.replaceState(null, "", `${url.pathname}#/signin`);
  if (p.has("error")) throw new SignInError("denied");
  if (!verifier || !state || p.get("state") !== state) throw new SignInError("state");
  let data: { access_token?: unknown } | null = null;
  try {
    const resp = await fetch(`${cfg.authority}/oauth2/token`, {
      method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "authorization_code", client_id: cfg.client_id!,
        code: p.get("code") ?? "", redirect_uri: cfg.redirect_uri!, code_verifier: verifier }),
    });
    data = resp.ok ? await resp.json() : null;
  } catch { data = null; }
  // The access token: it carries cognito:groups and the console scope the API accepts.
  if (typeof data?.access_token !== "string") throw new SignInError("exchange");
  return data.access_token;
}

/** Signing out of the console also ends the hosted-UI session (else it signs straight in). */
export function logoutUrl(cfg: ConsoleConfig): string | null {
  if (cfg.signin !== "cognito") return null;
  const q = new URLSearchParams({ client_id: cfg.client_id!, logout_uri: cfg.redirect_uri! });
  return `${cfg.authority}/logout?${q}`;
}
