// Validate custom resources against their projects' published schemas (the validators that
// @kubernetes-models generates from the Prometheus Operator's and cert-manager's CRDs), which
// kubernetes-validate does not know. Reads a JSON array of objects on standard input; prints
// one line per object; exits 1 if any is invalid or of a kind it has no schema for.
// usage: node validate_custom_resources.mjs TOOLS_DIR < objects.json
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const models = join(process.argv[2], "node_modules", "@kubernetes-models");
const modules = {
  "monitoring.coreos.com/v1": "prometheus-operator/monitoring.coreos.com/v1",
  "cert-manager.io/v1": "cert-manager/cert-manager.io/v1",
};

let failed = 0;
for (const object of JSON.parse(readFileSync(0, "utf8"))) {
  const label = `${object.apiVersion} ${object.kind} ${object.metadata?.name}`;
  const folder = modules[object.apiVersion];
  if (!folder) {
    console.log(`no schema: ${label}`);
    failed += 1;
    continue;
  }
  const module = await import(pathToFileURL(join(models, folder, `${object.kind}.js`)).href);
  try {
    new module[object.kind](object).validate();
    console.log(`valid: ${label}`);
  } catch (error) {
    console.log(`invalid: ${label}: ${error.message}`);
    failed += 1;
  }
}
process.exit(failed ? 1 : 0);
