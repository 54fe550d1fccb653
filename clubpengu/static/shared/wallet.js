// Signers for the sign-in: Phantom (window.phantom.solana) or a development key made in
// the page with WebCrypto Ed25519. A signer is {address, kind, sign(text) -> base58}.
// Keys and tokens live in memory only: nothing goes to web storage or cookies.
import { encodeBase58 } from "./base58.js";

const encoder = new TextEncoder();

export function phantomProvider() {
  const provider = window.phantom?.solana;
  return provider && typeof provider.signMessage === "function" ? provider : null;
}

/** Connect to Phantom and sign with it: signMessage over the nonce's UTF-8 bytes. */
export async function phantomSigner() {
  const provider = phantomProvider();
  if (!provider) throw new Error("Phantom is not installed in this browser");
  const { publicKey } = await provider.connect();
  return {
    address: publicKey.toString(),
    kind: "phantom",
    async sign(text) {
      const { signature } = await provider.signMessage(encoder.encode(text), "utf8");
      return encodeBase58(new Uint8Array(signature));
    },
  };
}

let devSigner = null;

/** An ed25519 key pair made by this page and held in its memory only (the private key is
 * not extractable): the same key until the page is closed or reloaded, then gone. */
export function devKeySigner() {
  devSigner ??= makeDevSigner().catch((error) => {
    devSigner = null;
    throw error;
  });
  return devSigner;
}

async function makeDevSigner() {
  if (!window.isSecureContext || !crypto.subtle) {
    throw new Error("Development keys need a secure context: open the page on localhost or https");
  }
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  return {
    address: encodeBase58(raw),
    kind: "dev",
    async sign(text) {
      const signature = await crypto.subtle.sign({ name: "Ed25519" }, pair.privateKey, encoder.encode(text));
      return encodeBase58(new Uint8Array(signature));
    },
  };
}

/** What this server allows: {env, devKeys, devKeysRefusal}. */
export async function clientConfig() {
  const response = await fetch("/client-config", { credentials: "omit", cache: "no-store" });
  return response.json();
}

/** The claims of a JWT, for display only (the server checks every token itself). */
export function tokenClaims(token) {
  const part = token.split(".")[1] ?? "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
  return JSON.parse(json);
}

export function shortWallet(address) {
  return address.length > 12 ? `${address.slice(0, 4)}…${address.slice(-4)}` : address;
}
