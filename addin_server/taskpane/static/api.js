// @ts-check
// Talks to this server: JSON calls with the bearer token, and job progress as Server-Sent Events read
// through fetch (EventSource cannot send an Authorization header).
import { toBase64 } from "./base64.js";
import { t } from "./strings.js";

/** @typedef {import("./form.js").Job} Job */

const FINAL_STATES = ["succeeded", "failed", "cancelled"];

export class ApiError extends Error {
  /** @param {number} status @param {any} body @param {string | null} [retryAfter] */
  constructor(status, body, retryAfter) {
    const error = (body && body.error) || {};
    super(error.message || t("serverAnswered", { status }));
    this.status = status;
    this.code = error.code || "";
    this.param = error.param || null;
    this.retryAfter = retryAfter ? Number(retryAfter) : null;
  }
}

export class Api {
  /** @param {() => Promise<string | null>} getToken a token, or null in local mode */
  constructor(getToken) {
    this.getToken = getToken;
    /** @type {Map<string, Promise<string>>} url -> base64; an image id never changes its bytes */
    this.images = new Map();
  }

  /** @param {Record<string, string>} [extra] @returns {Promise<Record<string, string>>} */
  async headers(extra = {}) {
    const token = await this.getToken();
    return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
  }

  /** @param {string} method @param {string} path @param {object} [body] @returns {Promise<any>} */
  async request(method, path, body) {
    const headers = await this.headers(body ? { "Content-Type": "application/json" } : {});  // may ask to sign in
    let response;
    try {
      response = await fetch(path, { method, headers, body: body ? JSON.stringify(body) : undefined });
    } catch (error) {
      throw new ApiError(0, { error: { message: t("unreachable"), code: "unreachable" } });
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, data, response.headers.get("Retry-After"));
    return data;
  }

  /** @param {Record<string, any>} fields @returns {Promise<Job>} */
  createJob(fields) { return this.request("POST", "/api/jobs", fields); }
  /** @param {string} id */
  cancelJob(id) { return this.request("DELETE", `/api/jobs/${id}`); }
  /** @returns {Promise<{ data: Job[] }>} */
  history() { return this.request("GET", "/api/jobs?limit=12"); }

  // The picture as raw base64, fetched once per URL (the grid and the history show the same images).
  /** @param {string} url @returns {Promise<string>} */
  imageBase64(url) {
    let loading = this.images.get(url);
    if (!loading) {
      loading = this.fetchImage(url);
      loading.catch(() => this.images.delete(url));  // a failed fetch is tried again next time
      this.images.set(url, loading);
    }
    return loading;
  }

  /** @param {string} url */
  async fetchImage(url) {
    const response = await fetch(url, { headers: await this.headers() });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    return toBase64(await response.arrayBuffer());
  }

  // Calls onEvent(name, job) for each event until the job ends; returns the final job. The server closes a
  // stream after a while (SERVER_STREAM_MAX_S): then another is opened.
  /** @param {Job} job @param {(name: string, job: Job) => void} onEvent @param {AbortSignal} [signal] @returns {Promise<Job>} */
  async followJob(job, onEvent, signal) {
    let last = job;
    while (!FINAL_STATES.includes(last.status)) last = await this.readEvents(last, onEvent, signal);
    return last;
  }

  /** @param {Job} job @param {(name: string, job: Job) => void} onEvent @param {AbortSignal} [signal] @returns {Promise<Job>} */
  async readEvents(job, onEvent, signal) {
    const response = await fetch(job.links.events, { headers: await this.headers(), signal });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    if (!response.body) throw new ApiError(response.status, null);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", last = job;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return last;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const name = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (name && data) {
          last = JSON.parse(data);
          onEvent(name, last);
        }
      }
    }
  }
}
