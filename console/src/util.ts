import { ApiError } from "./api";
import { t } from "./i18n";

export function go(hash: string): void {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 0) return t("error.network");
    if (e.status === 403) return t("error.forbidden");
    return t("error.generic", { message: e.message });
  }
  return t("error.generic", { message: String(e) });
}
