// The staff API over fetch: a bearer token on every call and no cookies at all
// (credentials: "omit"), so there is no CSRF surface. The token lives in this object only.

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? body?.error ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code ?? body?.error;
  }
}

async function request(method, path, { token, body } = {}) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export class Api {
  constructor() {
    this.token = null;
    this.onSessionEnded = null; // called when a call with the token answers 401
  }

  /** The HTTP twin of the sign-in: challenge, sign the nonce, verify. */
  async signIn(signer) {
    const challenge = await request("POST", "/auth/challenge", { body: { walletAddress: signer.address } });
    const signature = await signer.sign(challenge.nonce);
    const success = await request("POST", "/auth/verify", {
      body: { challengeId: challenge.challengeId, walletAddress: signer.address, signature },
    });
    this.token = success.token;
    return success;
  }

  get(path, query = {}) {
    const params = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== null && v !== undefined && v !== ""));
    const suffix = params.toString() ? `?${params}` : "";
    return this.#call("GET", path + suffix);
  }

  post(path, body) {
    return this.#call("POST", path, body);
  }

  patch(path, body) {
    return this.#call("PATCH", path, body);
  }

  /** GET a file the server sends as an attachment (a player's export): the body as a Blob.
   * A plain link cannot carry the bearer token, so the page fetches it and saves it. */
  async download(path) {
    const response = await fetch(path, {
      headers: { Authorization: `Bearer ${this.token}` }, credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer",
    });
    if (!response.ok) {
      const error = new ApiError(response.status, await response.json().catch(() => null));
      if (error.status === 401) this.onSessionEnded?.(error);
      throw error;
    }
    return response.blob();
  }

  async #call(method, path, body) {
    try {
      return await request(method, path, { token: this.token, body });
    } catch (error) {
      // The session ended elsewhere: revoked by an admin, a ban, signed out in another tab.
      if (error.status === 401 && this.token) this.onSessionEnded?.(error);
      throw error;
    }
  }

  /** End this page's session on the server (POST /auth/logout): its token stops working
   * everywhere, not only in this page. An ended session (401) counts as signed out. */
  async signOut() {
    if (!this.token) return;
    try {
      await request("POST", "/auth/logout", { token: this.token });
    } catch (error) {
      if (error.status !== 401) throw error;
    }
    this.token = null;
  }
}
