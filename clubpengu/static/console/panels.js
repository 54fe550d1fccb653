// The console's panels, in the order of the navigation. A panel is a module in views/
// exporting `make(container, context)` that returns {show(argument), hide()}; `roles`
// says who gets it (a panel a role may not use is not built at all). To add a panel:
// write views/<name>.js and add one line here.
import { ADMINS, ALL, READERS } from "./roles.js";
import { audit } from "./views/audit.js";
import { coins } from "./views/coins.js";
import { collusion } from "./views/collusion.js";
import { leaderboards } from "./views/leaderboards.js";
import { ledger } from "./views/ledger.js";
import { matches } from "./views/matches.js";
import { migrations } from "./views/migrations.js";
import { overview } from "./views/overview.js";
import { players } from "./views/players.js";
import { promos } from "./views/promos.js";
import { report } from "./views/report.js";
import { reports } from "./views/reports.js";

export const PANELS = [
  { name: "overview", label: "Overview", roles: READERS, make: overview },
  { name: "players", label: "Players", roles: ALL, make: players },
  { name: "reports", label: "Reports", roles: ALL, make: reports },
  { name: "matches", label: "Matches", roles: ALL, make: matches },
  { name: "leaderboards", label: "Leaderboards", roles: ALL, make: leaderboards },
  { name: "coins", label: "Adjust coins", roles: ADMINS, make: coins },
  { name: "promos", label: "Promo codes", roles: READERS, make: promos },
  { name: "migrations", label: "Migrations", roles: READERS, make: migrations },
  { name: "collusion", label: "Collusion", roles: ALL, make: collusion },
  { name: "audit", label: "Audit", roles: READERS, make: audit },
  { name: "ledger", label: "Ledger check", roles: READERS, make: ledger },
  { name: "report", label: "Report", roles: READERS, make: report },
];
