// The API explorer's start: Swagger UI on the gateway's own OpenAPI document, whose URL the
// page puts on the #swagger-ui element (the page has no inline script: its
// Content-Security-Policy allows only the gateway's own files). No `servers` in the document
// means "Try it out" calls the origin the document came from: this gateway.
"use strict";
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapi,
  domNode: root,
  deepLinking: true,
  validatorUrl: null,
  displayRequestDuration: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
