// The API is on the same origin under /api (the local console server and CloudFront both
// forward /api/* to the API stage), so the browser needs no CORS and sends no cookies.

const TOKEN_KEY = "perks.console.token";
export const CONSOLE_ROLES = ["marketer", "admin"];

export interface Claims { sub: string; roles: string[]; exp: number }
export interface Problem { path: string; message: string; hint?: string; code?: string }

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string,
    public details: Problem[] = []) {
    super(message);
  }
}

export function decode(token: string): Claims | null {
  try {
    const part = token.split(".")[1];
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const c = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (ch) => ch.charCodeAt(0))));
    const raw = c.roles ?? c["cognito:groups"] ?? [];
    const roles = (typeof raw === "string" ? raw.split(/[\s,]+/) : raw).map(String);
    return { sub: String(c.sub ?? ""), roles, exp: Number(c.exp ?? 0) };
  } catch {
    return null;
  }
}

/** Why a token cannot use the console, or null when it can. */
export function refusal(token: string): "badToken" | "memberRefused" | "noRole" | null {
  const c = decode(token);
  if (!c || !c.sub || c.exp * 1000 < Date.now()) return "badToken";
  if (c.roles.some((r) => CONSOLE_ROLES.includes(r))) return null;
  return c.roles.includes("member") ? "memberRefused" : "noRole";
}

export const session = {
  get token(): string | null {
    const tok = sessionStorage.getItem(TOKEN_KEY);
    return tok && refusal(tok) === null ? tok : null;
  },
  set(token: string): void { sessionStorage.setItem(TOKEN_KEY, token); },
  clear(): void { sessionStorage.removeItem(TOKEN_KEY); },
  get claims(): Claims | null { const tok = this.token; return tok ? decode(tok) : null; },
};

function idempotencyKey(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export let onUnauthenticated: () => void = () => undefined;
export function setOnUnauthenticated(fn: () => void): void { onUnauthenticated = fn; }

export async function call<T = any>(method: string, path: string, body?: unknown,
  raw?: string): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const tok = session.token;
  if (tok) headers.Authorization = `Bearer ${tok}`;
  if (method !== "GET") {
    headers["Content-Type"] = "application/json";
    // Every console write is retried safely: the API honours Idempotency-Key.
    headers["Idempotency-Key"] = idempotencyKey();
  }
  let resp: Response;
  try {
    resp = await fetch(`/api${path}`, { method, headers,
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body)) });
  } catch {
    throw new ApiError(0, "NETWORK", "network");
  }
  const text = await resp.text();
  const data = text ? JSON.parse(text) : null;
  if (!resp.ok) {
    const e = data?.error ?? {};
    if (resp.status === 401) onUnauthenticated();
    throw new ApiError(resp.status, e.code ?? String(resp.status), e.message ?? resp.statusText,
      e.details ?? []);
  }
  return data as T;
}

export async function devToken(role: string, sub: string): Promise<string> {
  const resp = await fetch("/dev/token", { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify({ role, sub }) });
  if (!resp.ok) throw new ApiError(resp.status, "DEV_SIGNIN", resp.statusText);
  return (await resp.json()).token;
}
