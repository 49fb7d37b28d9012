// Routes of the coupon, program, member-support and audit pages: each page is its own lazily
// loaded chunk (the initial bundle only holds this table).
type Page = (main: HTMLElement, id: string | null) => Promise<void>;

export const PAGES: Record<string, () => Promise<Page>> = {
  coupons: async () => (await import("./coupons")).couponsPage,
  program: async () => (await import("./program")).programPage,
  members: async () => (await import("./member")).memberPage,
  audit: async () => (await import("./audit")).auditPage,
  gifts: async () => (await import("./gifts")).giftsPage,
};

export const NAV = ["coupons", "program", "members", "audit", "gifts"];
