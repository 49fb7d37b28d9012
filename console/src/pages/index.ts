// Routes of the coupon, program, member-support, audit, gift, referral, draw and check-in
// pages: each
// page is its own lazily loaded chunk (the initial bundle only holds this table).
type Page = (main: HTMLElement, id: string | null) => Promise<void>;

export const PAGES: Record<string, () => Promise<Page>> = {
  coupons: async () => (await import("./coupons")).couponsPage,
  program: async () => (await import("./program")).programPage,
  members: async () => (await import("./member")).memberPage,
  audit: async () => (await import("./audit")).auditPage,
  gifts: async () => (await import("./gifts")).giftsPage,
  referrals: async () => (await import("./referrals")).referralsPage,
  draws: async () => (await import("./draws")).drawsPage,
  checkins: async () => (await import("./checkins")).checkinsPage,
};

export const NAV = ["coupons", "program", "members", "audit", "gifts", "referrals", "draws", "checkins"];
