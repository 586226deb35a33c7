// The pane's one message line: what happened, or what went wrong in words a person can act on.
import { ApiError } from "./api.js";

const $ = (id) => document.getElementById(id);

export function show(text, isError = false) {
  const message = $("message");
  message.textContent = text;
  message.classList.toggle("error", isError);
  message.hidden = !text;
}

// `signInMode` is "local" or "entra": only with Entra ID is there a Sign in button to offer.
export function explain(error, signInMode) {
  if (error instanceof ApiError) {
    if (error.status === 401) {
      $("sign-in").hidden = signInMode === "local";
      return show("Sign in to generate images.", true);
    }
    if (error.code === "consent_required") {
      $("sign-in").hidden = false;
      return show("Your organization has not allowed this app yet. Sign in to give consent.", true);
    }
    if (error.status === 429) {
      const wait = error.retryAfter ? ` Try again in ${error.retryAfter} s.` : "";
      return show(`The image server is busy.${wait}`, true);
    }
    return show(error.message, true);
  }
  show(`Office refused the picture: ${error.message}`, true);
}
