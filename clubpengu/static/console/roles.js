// Who may do what, mirroring the server's table (docs/protocol.md §8). The console only
// hides what a role cannot use; the server refuses it anyway (403), whatever a page shows.
export const ADMIN = "admin";
export const MODERATOR = "moderator";
export const ANALYST = "analyst";

export const ALL = [ADMIN, MODERATOR, ANALYST];
export const READERS = [ADMIN, ANALYST]; // every read of the economy: overview, ledger, audit…
export const MODERATORS = [ADMIN, MODERATOR]; // bans, mutes, the report queue's actions
export const ADMINS = [ADMIN]; // coins, promo codes, revocations, migration decisions

/** What the console's views ask before showing a control that writes. */
const ACTIONS = {
  moderate: MODERATORS, // ban, unban, mute, unmute, resolve a report
  revoke: ADMINS,
  coins: ADMINS,
  promos: ADMINS,
  decideMigrations: ADMINS,
  readLedger: READERS,
};

export function can(role, action) {
  return (ACTIONS[action] ?? []).includes(role);
}
