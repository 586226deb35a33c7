// @ts-check
// Who the pane acts for. Nothing in local mode. With Entra ID: nested app authentication (MSAL.js over
// Office's bridge) where the host has it, else Office SSO (getAccessToken), else the sign-in dialog.
import { ApiError } from "./api.js";
import { nestedAppAuthSupported, officeSsoToken, openSignInDialog } from "./office_host.js";
import { t } from "./strings.js";

/** The page's sign-in settings (from the server).
 * @typedef {{ signIn: string, clientId: string, authority: string, msalUrl: string, scopes: string[] }} SignInSettings */

const signInNeeded = () => new ApiError(401, { error: { message: t("signInToGenerate"), code: "sign_in_needed" } });

export class SignIn {
  /** @param {SignInSettings} settings */
  constructor(settings) {
    this.settings = settings;
    /** @type {string | null} from the sign-in dialog, once the person used it */
    this.dialogToken = null;
    /** @type {ReturnType<Window["msal"]["createNestablePublicClientApplication"]> | null} made on first use */
    this.nestedApp = null;
  }

  get nested() {
    return nestedAppAuthSupported();
  }

  // A token for this server, without asking the person anything; throws a 401 ApiError when they must sign in.
  /** @returns {Promise<string | null>} */
  async token() {
    if (this.settings.signIn === "local") return null;
    if (this.dialogToken) return this.dialogToken;
    try {
      if (this.nested) return (await (await this.app()).acquireTokenSilent(this.request())).accessToken;
      return await officeSsoToken();
    } catch (error) {
      throw signInNeeded();
    }
  }

  // The Sign in button: Office's own sign-in window under nested app authentication, else our dialog.
  async interactive() {
    if (this.nested) {
      await (await this.app()).acquireTokenPopup(this.request());
      return;
    }
    this.dialogToken = await openSignInDialog(`${location.origin}/auth/login`);
  }

  request() {
    return { scopes: this.settings.scopes };
  }

  app() {
    let app = this.nestedApp;
    if (!app) {
      app = loadScript(this.settings.msalUrl).then(() => window.msal.createNestablePublicClientApplication({
        auth: { clientId: this.settings.clientId, authority: this.settings.authority },
      }));
      app.catch(() => { this.nestedApp = null; });  // try again next time
      this.nestedApp = app;
    }
    return app;
  }
}

// MSAL.js is only fetched where it is used.
/** @param {string} url @returns {Promise<void>} */
function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = url;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`could not load ${url}`));
    document.head.append(script);
  });
}
