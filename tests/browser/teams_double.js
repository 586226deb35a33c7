// A stand-in for TeamsJS (window.microsoftTeams) in the dialog: it records the calls the page makes and gives
// the token the test put in window.__teamsConfig, as Teams SSO would.
(() => {
  const config = window.__teamsConfig || {};
  const calls = (window.__teamsCalls = []);
  window.microsoftTeams = {
    app: {
      initialize: async () => { calls.push({ call: "app.initialize" }); },
      // `config.locale` and `config.theme` ("default", "dark" or "contrast"), as Teams' context gives them.
      getContext: async () => ({ app: { locale: config.locale || "en-us", theme: config.theme || "default" } }),
      registerOnThemeChangeHandler: (handler) => { window.__teamsThemeHandler = handler; },
    },
    authentication: {
      getAuthToken: async (request) => {
        calls.push({ call: "authentication.getAuthToken", request: request || null });
        if (config.tokenError) throw new Error(config.tokenError);
        return config.token;
      },
    },
    dialog: {
      url: {
        submit: (result, appIds) => { calls.push({ call: "dialog.url.submit", result, appIds: appIds || null }); },
      },
    },
  };
})();
