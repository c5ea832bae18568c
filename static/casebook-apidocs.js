/* The browsable API documentation: Swagger UI on the generated OpenAPI document (no inline script: CSP). */
(function () {
  'use strict';
  var root = document.getElementById('api-docs');
  window.SwaggerUIBundle({ url: root.getAttribute('data-spec-url'), domNode: root, deepLinking: true });
}());
