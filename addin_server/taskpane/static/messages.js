// @ts-check
// The pane's one message line: what happened, or what went wrong in words a person can act on.
import { ApiError } from "./api.js";
import { byId, messageOf } from "./dom.js";
import { t } from "./strings.js";

/** @param {string} text @param {boolean} [isError] */
export function show(text, isError = false) {
  const message = byId("message");
  message.textContent = text;
  message.classList.toggle("error", isError);
  message.hidden = !text;
}

// `signInMode` is "local" or "entra": only with Entra ID is there a Sign in button to offer.
/** @param {unknown} error @param {string} signInMode */
export function explain(error, signInMode) {
  if (error instanceof ApiError) {
    if (error.status === 401) {
      byId("sign-in").hidden = signInMode === "local";
      return show(t("signInToGenerate"), true);
    }
    if (error.code === "consent_required") {
      byId("sign-in").hidden = false;
      return show(t("consentNeeded"), true);
    }
    if (error.status === 429) return show(error.retryAfter ? t("busyRetry", { seconds: error.retryAfter }) : t("busy"), true);
    return show(error.message, true);
  }
  show(t("officeRefused", { reason: messageOf(error) }), true);
}
