// The house's coins for a match, as a player reads them (protocol §11, "Match rewards"):
// match_end tells each seat its `reward` and, when it is less than the game's reward, a
// `rewardReason`; match_history tells only the coins.

export const LEVELS = { easy: "Easy", normal: "Normal", hard: "Hard" };

// Why a seat got less than the game's reward, completing "No reward: …".
const WHY = {
  lost: "you lost",
  forfeit: "the match was forfeited",
  timeout: "a turn timed out",
  disconnect: "a player disconnected",
  abandoned: "the match was abandoned",
  too_few_moves: "too few moves were played",
  daily_cap: "daily cap reached",
  pair_cap: "today's rewarded matches with this player are used up",
  computer_cap: "today's coins from the computer are used up",
  no_reward: "this game pays no reward",
};

export function coins(n) {
  return `+${n} ${n === 1 ? "coin" : "coins"}`;
}

/** match_end's reward as one line: "+10 coins", "+4 coins (daily cap reached)" when a cap
 * cut it, "No reward: you lost"; null when the frame carries no reward (a spectator's). */
export function rewardText(frame) {
  if (typeof frame.reward !== "number") return null;
  const why = frame.rewardReason ? WHY[frame.rewardReason] ?? frame.rewardReason.replaceAll("_", " ") : null;
  if (frame.reward > 0) return why ? `${coins(frame.reward)} (${why})` : coins(frame.reward);
  return `No reward: ${why ?? "none paid"}`;
}

/** A history entry's reward: "+10 coins" or "no coins". */
export function historyReward(entry) {
  return entry.reward > 0 ? coins(entry.reward) : "no coins";
}

/** The computer as an opponent: "Computer (easy)". */
export function computerName(level) {
  return level ? `Computer (${level})` : "Computer";
}
