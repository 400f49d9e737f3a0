// /api/docs: Swagger UI from django-ninja's bundled files (no CDN). Opened as /api/docs?token=…, the token also
// authorises "Try it out" (Authorization: Bearer), so reads and writes can be tried without pasting it again.
(function () {
  const settings = JSON.parse(document.getElementById("swagger-settings").textContent);
  const token = new URLSearchParams(location.search).get("token") || "";
  settings.dom_id = "#swagger-ui";
  settings.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
  settings.onComplete = () => {
    if (token) window.ui.preauthorizeApiKey("BearerToken", token);
    window.depthhandDocs = { ready: true, authorised: Boolean(token) };
  };
  window.ui = SwaggerUIBundle(settings);
})();
