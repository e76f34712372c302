// Calls to Alongside's REST API with the page's bearer token; never throws.

/**
 * One REST call. Answers the same shape as the socket events, so pages handle both alike.
 *
 * @param {string} token the bearer token the page holds
 * @param {string} method "GET", "POST", "DELETE"…
 * @param {string} path e.g. "/api/programs/p1/partner"
 * @param {object} [body] sent as JSON
 * @returns {Promise<{ok: true, data: any} | {ok: false, error: {code: string, message: string}}>}
 */
export async function restCall(token, method, path, body) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(body ? { "Content-Type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
      credentials: "omit", // the token is the only credential; no cookies
      cache: "no-store",
    });
  } catch {
    return restFailure("E_NETWORK", "The program couldn't be reached. Please check your connection.");
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    // not JSON
  }
  if (response.ok && !(data && data.ok === false)) return { ok: true, data };
  const error = data?.error && typeof data.error === "object" ? data.error : {};
  return restFailure(
    typeof error.code === "string" ? error.code : "E_UNAVAILABLE",
    typeof error.message === "string" ? error.message : "Something went wrong. Please try again.",
  );
}

/** A refusal in the same shape as the server's. */
export function restFailure(code, message) {
  return { ok: false, error: { code, message } };
}
