// The old game's save, kept in this origin's localStorage under the keys the old client
// wrote (seed 000 §3.2): read it to offer it to `migrate_data`, then clear it. Nothing of
// this page is ever written there.

// The keys of the old client; all but penguin_name held JSON.
export const OLD_KEYS = ["penguin_name", "clubpenguin_save", "penguin_customization", "unlocked_cosmetics",
  "unlocked_mounts", "puffles"];

function parse(key, text) {
  if (key === "penguin_name") return text;
  try {
    return JSON.parse(text);
  } catch {
    return text; // the server names what it cannot use in `dropped`
  }
}

/** The save as `localData` for `migrate_data`, or null when there is none. */
export function readOldSave() {
  const save = {};
  try {
    for (const key of OLD_KEYS) {
      const text = localStorage.getItem(key);
      if (text !== null) save[key] = parse(key, text);
    }
  } catch {
    return null; // storage switched off in this browser
  }
  return Object.keys(save).length ? save : null;
}

export function clearOldSave() {
  try {
    for (const key of OLD_KEYS) localStorage.removeItem(key);
  } catch {
    // Storage switched off: there was nothing to clear.
  }
}
