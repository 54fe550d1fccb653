// Coin adjustment (admins only; for analysts this view is never built). The form carries
// an idempotency key made when the form is filled in: submitting it twice (a double click,
// a retry) applies it once. Editing any field makes a new key for a new adjustment.
import { fill, h, newKey } from "../../shared/dom.js";
import { message } from "../ui.js";

export function coins(container, { api, go }) {
  const wallet = h("input", { name: "walletAddress", id: "adjust-wallet", required: true, size: 46, placeholder: "Wallet address" });
  const amount = h("input", { name: "amount", id: "adjust-amount", type: "number", step: 1, required: true, placeholder: "e.g. 100 or -20" });
  const reason = h("input", { name: "reason", id: "adjust-reason", required: true, minlength: 3, maxlength: 200, size: 46, placeholder: "Why (kept in the ledger)" });
  const key = h("input", { name: "idempotencyKey", id: "adjust-key", type: "hidden", value: newKey() });
  const result = h("p", { id: "adjust-result", class: "note" });
  const form = h("form", { id: "adjust-form", class: "stack" },
    h("label", {}, "Wallet ", wallet), h("label", {}, "Amount ", amount), h("label", {}, "Reason ", reason), key,
    h("p", { class: "note" }, "Submitting the same form twice applies it once; change a field to make another adjustment."),
    h("button", { type: "submit", id: "adjust-submit" }, "Apply"), result);
  fill(container, h("h2", {}, "Adjust coins"), form);

  let applied = null; // {key, text} of the last adjustment shown as applied

  form.addEventListener("input", () => {
    key.value = newKey();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { walletAddress: wallet.value.trim(), amount: Number(amount.value), reason: reason.value.trim(), idempotencyKey: key.value };
    message(result, "Applying…");
    try {
      const done = await api.post("/admin/coins", body);
      const sign = done.delta > 0 ? "+" : "";
      let text = `Applied ${sign}${done.delta}: balance after ${done.balance}`;
      if (done.replayed) {
        text = applied?.key === body.idempotencyKey
          ? `${applied.text} (submitted again: applied once)`
          : `Already applied (this form was submitted before): balance ${done.balance}`;
      } else {
        applied = { key: body.idempotencyKey, text };
      }
      message(result, text, "success");
      result.dataset.balance = String(done.balance);
    } catch (error) {
      message(result, error.message, "error");
    }
  });

  return {
    show(target) {
      if (target) {
        wallet.value = target;
        key.value = newKey();
      }
    },
    hide() {},
  };
}
