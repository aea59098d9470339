// The console's only way to the service: the public HTTP contract under /api/v1.

const KEY_STORAGE = "onboarder.apiKey";
const BASE = "/api/v1";

export const auth = {
  get() {
    return sessionStorage.getItem(KEY_STORAGE);
  },
  set(key) {
    sessionStorage.setItem(KEY_STORAGE, key);
  },
  clear() {
    sessionStorage.removeItem(KEY_STORAGE);
  },
};

/** An answer that is not a success: `problem` is the problem+json body (RFC 9457). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
  }
  get code() {
    return this.problem.code;
  }
}

export function isAbort(error) {
  return error && error.name === "AbortError";
}

function buildUrl(path, query) {
  const url = new URL(BASE + path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    url.searchParams.set(name, String(value));
  }
  return url;
}

async function send(path, { method = "GET", query, body, signal, key, accept } = {}) {
  const headers = { Accept: accept || "application/json, application/problem+json" };
  const token = key ?? auth.get();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(buildUrl(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
      credentials: "omit",
    });
  } catch (error) {
    if (isAbort(error)) throw error;
    throw new ApiError(0, {
      title: "The service cannot be reached",
      detail: "The request did not get an answer.",
      hint: "Check that Onboarder is running and that this page was opened from it, then try again.",
      code: "network_error",
    });
  }
  if (!response.ok) {
    let problem;
    const text = await response.text();
    try {
      problem = JSON.parse(text);
    } catch {
      problem = null;
    }
    if (!problem || typeof problem !== "object") {
      problem = { title: response.statusText || `HTTP ${response.status}`, detail: text.slice(0, 300) };
    }
    problem.status ??= response.status;
    if (response.status === 401 && key === undefined) {
      auth.clear();
      window.dispatchEvent(new CustomEvent("onboarder:signed-out", { detail: problem }));
    }
    throw new ApiError(response.status, problem);
  }
  return response;
}

/** JSON of a successful answer (null for 204). Throws ApiError otherwise. */
export async function api(path, options = {}) {
  const response = await send(path, options);
  if (response.status === 204) return null;
  return response.json();
}

/** Every item of a cursor-paged list (at most `max`). */
export async function listAll(path, { query, signal, max = 5000 } = {}) {
  const items = [];
  let cursor = null;
  do {
    const page = await api(path, { query: { ...query, limit: 500, cursor }, signal });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

/** The answer as a Blob (for downloads that need the bearer header). */
export async function blob(path, options = {}) {
  const response = await send(path, options);
  return response.blob();
}
