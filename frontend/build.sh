#!/bin/sh
# Rebuild static/vendor/case-bpmn from frontend/src (run after `npm ci` in this folder).
set -eu
cd "$(dirname "$0")"
out=../static/vendor/case-bpmn
mkdir -p "$out"
npx esbuild src/modeler-entry.js --bundle --minify --format=iife --global-name=CaseBpmn --target=es2020 \
  --legal-comments=linked --outfile="$out/case-bpmn-modeler.min.js"
npx esbuild src/modeler-entry.css --bundle --minify --loader:.woff=dataurl --loader:.woff2=dataurl \
  --loader:.ttf=dataurl --loader:.eot=dataurl --loader:.svg=dataurl --outfile="$out/case-bpmn-modeler.min.css"
for pkg in bpmn-js bpmn-js-properties-panel @bpmn-io/properties-panel camunda-bpmn-moddle camunda-bpmn-js-behaviors; do
  cp "node_modules/$pkg/LICENSE" "$out/LICENSE-$(echo "$pkg" | tr '/@' '__')" 2>/dev/null || true
done
# Swagger UI for /api/docs, as published (no build step).
mkdir -p ../static/vendor/swagger-ui
for f in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE; do
  cp "node_modules/swagger-ui-dist/$f" ../static/vendor/swagger-ui/
done
echo "built $out and ../static/vendor/swagger-ui"
