// What the pages load as classic scripts beside the modules: Teams' SDK (the UMD bundle, vendored) and MSAL.js
// (loaded on demand by sign_in.js for nested app authentication).
interface Window {
  microsoftTeams: typeof import("@microsoft/teams-js");
  msal: {
    createNestablePublicClientApplication(configuration: object): Promise<{
      acquireTokenSilent(request: object): Promise<{ accessToken: string }>;
      acquireTokenPopup(request: object): Promise<{ accessToken: string }>;
    }>;
  };
}
