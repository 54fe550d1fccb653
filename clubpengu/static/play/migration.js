// Bringing the old game's save (seed 000 §3.3, protocol §9): a new player whose browser
// still holds a save is asked whether to bring it; the save is cleared once the server has
// answered (whatever it answered, but an outage: then it is kept for another try) or when
// the player chooses to start fresh. A held save (`pending_review`) is shown as held, and
// `migration_reviewed` tells how the staff decided.
import { h } from "../shared/dom.js";
import { clearOldSave, readOldSave } from "./old_save.js";

function summary(save) {
  const parts = [];
  if (save.penguin_name) parts.push(`the name ${save.penguin_name}`);
  const coins = save.clubpenguin_save?.coins;
  if (typeof coins === "number") parts.push(`${coins} coins`);
  const items = Array.isArray(save.unlocked_cosmetics) ? save.unlocked_cosmetics.length : 0;
  if (items) parts.push(`${items} items`);
  const puffles = Array.isArray(save.puffles) ? save.puffles.length : 0;
  if (puffles) parts.push(`${puffles} puffles`);
  return parts.length ? parts.join(", ") : "some progress";
}

export class Migration {
  constructor(app) {
    this.app = app;
    app.socket.on("migration_reviewed", (frame) => {
      const approved = frame.status === "approved";
      this.app.say(approved
        ? `Your save was approved: ${frame.coins} coins`
        : `Your save was not accepted${frame.reason ? `: ${frame.reason}` : ""}`);
      this.app.prompts.show({
        kind: "migration-reviewed", id: `reviewed-${frame.claimId}`, title: "Your old save",
        text: approved ? `The staff approved it: ${frame.coins} coins.` : `The staff rejected it: ${frame.reason ?? ""}`,
        actions: [{ label: "Close", name: "close", run: () => true }],
      });
    });
  }

  /** After auth_success: ask a new player with a save; tell anyone whose save is held. */
  signedIn(success) {
    const held = success.user?.migration;
    if (held?.status === "pending_review") this.app.say("Your old save is waiting for the staff's review.");
    if (!success.isNewUser) return;
    const save = readOldSave();
    if (!save) return;
    const card = this.app.prompts.show({
      kind: "migration", id: "migration", title: "We found progress from the old game",
      text: `This browser holds a save of the old game with ${summary(save)}. Bring it to this wallet?`,
      actions: [
        { label: "Bring it", name: "bring", run: () => this.bring(card, save) },
        { label: "Start fresh", name: "discard", secondary: true, run: () => clearOldSave() },
      ],
    });
  }

  async bring(card, save) {
    let reply;
    try {
      reply = await this.app.socket.call({ type: "migrate_data", localData: save });
    } catch (error) {
      if (error.code === "unavailable" || !error.code) throw error; // kept: try again
      clearOldSave();
      this.app.prompts.settle(card, `The save could not be brought: ${error.message}`);
      return false;
    }
    clearOldSave();
    this.app.migrated(reply);
    const dropped = reply.dropped.length
      ? h("p", { class: "note" }, "Left out: ", reply.dropped.map((d) => `${d.field} (${d.reason})`).join(", "))
      : null;
    const renamed = reply.renamed ? h("p", { class: "note" }, `${reply.renamed.from} was taken: you are ${reply.renamed.to}.`) : null;
    if (reply.status === "pending_review") {
      this.app.prompts.settle(card, h("p", { class: "migration-status", dataset: { status: reply.status } },
        "Your save is held for the staff's review: ", reply.held.join("; "),
        ". Nothing of it is credited until they decide; you will be told here."), dropped);
    } else {
      this.app.prompts.settle(card, h("p", { class: "migration-status", dataset: { status: reply.status } },
        `Your save is here: ${reply.accepted.coins ?? 0} coins, you are ${reply.accepted.username ?? "unchanged"}.`),
        renamed, dropped);
    }
    return false;
  }
}
