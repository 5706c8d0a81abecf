// The English accessible names the tests find controls by (role + name). One place, so a
// renamed button in crates/console/assets/ is one edit here. Regexes are anchored loosely
// (case-insensitive, whole words) so "Create tenant" and "Create a tenant" both match.
export const N = {
  // app.js (header)
  signOut: /^sign out$/i,
  menu: /^menu$/i,
  // pages/sign-in.js
  signInButton: /^sign in$/i,
  credentialField: /token|api key|jwt|credential/i,
  // pages/tenants.js, pages/tenant.js
  newTenant: /^(new|create|add)( a)? tenant$/i,
  tenantName: /^name$/i,
  createSubmit: /^(create|save|add)\b/i,
  newLink: /^(new|create|add)( an?)? (authorization|onboarding) link$/i,
  linkAppid: /appid|mini program/i,
  newKey: /^(new|create|add)( an?)? api key$/i,
  keyName: /^name$/i,
  newWebhook: /^(new|create|add)( an?)? webhook$/i,
  webhookUrl: /^url$/i,
  suspend: /^suspend( tenant)?$/i,
  resume: /^resume( tenant)?$/i,
  // pages/event.js
  replay: /^replay( event)?$/i,
  // widgets.js filterForm
  applyFilters: /^apply filters$/i,
  clearFilters: /^clear filters$/i,
  // pages/shipping.js (and the Mini Program page's link to it)
  navShipping: /^shipping$/i,
  filterTenant: /^tenant$/i,
  filterAppid: /^mini program \(appid\)$/i,
  minAge: /^paid at least/i,
  shipmentStatus: /^shipment status$/i,
  openInShipping: /^open in shipping$/i,
  // ui.js confirmDialog: the dialog's confirm button carries the action's name, else "Confirm"
  confirm: /^(confirm|suspend|resume|replay|revoke|delete|yes)\b/i,
  // onboarding landing page (tpgate, not the console): pages.rs
  goToAuthorization: /前往授权|Go to authorization/,
};
