// Ledger verification: every balance equals the sum of its entries and is not negative.
import { fill, h } from "../../shared/dom.js";
import { facts, message, table } from "../ui.js";

export function ledger(container, { api }) {
  const run = h("button", { type: "button", id: "verify-run" }, "Verify the ledger");
  const status = h("p", { class: "note", id: "verify-status" });
  const body = h("div", { id: "verify-body" });
  fill(container, h("h2", {}, "Ledger verification"),
    h("p", { class: "note" }, "Reads every balance and every ledger entry; on a large database this takes seconds."),
    run, status, body);

  run.addEventListener("click", async () => {
    run.disabled = true;
    message(status, "Verifying…");
    try {
      const report = await api.get("/admin/ledger/verify");
      message(status, report.ok ? "The ledger is consistent." : `${report.mismatchCount} mismatch(es) found.`,
        report.ok ? "success" : "error");
      status.dataset.ok = String(report.ok);
      fill(body,
        facts([["users", report.users], ["entries", report.transactions], ["took", `${report.seconds} s`]], "verify-facts"),
        report.ok ? null : table([
          { key: "walletAddress", label: "wallet" }, { key: "balance", label: "balance", num: true },
          { key: "ledgerSum", label: "sum of entries", num: true }, { key: "entries", label: "entries", num: true },
          { key: "problem", label: "problem" },
        ], report.mismatches, { id: "verify-mismatches" }));
    } catch (error) {
      message(status, error.message, "error");
    } finally {
      run.disabled = false;
    }
  });
  return { show() {}, hide() {} };
}
