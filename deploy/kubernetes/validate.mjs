// Validates binfmtd.yaml against the Kubernetes API schema, with kubernetes-models (the
// OpenAPI schemas of the Kubernetes API as JSON schemas, checked by ajv) from npm:
//   node validate.mjs binfmtd.yaml
// tests/container/validate-kubernetes.sh installs the packages (package.json) and runs it.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Pod } from "kubernetes-models/v1/Pod";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";

const kinds = { "v1/Namespace": Namespace, "v1/ConfigMap": ConfigMap, "v1/Pod": Pod,
                "apps/v1/DaemonSet": DaemonSet };
let failed = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length > 0) {
      console.error(`${file}: YAML error: ${doc.errors[0].message}`);
      failed++;
      continue;
    }
    const object = doc.toJS();
    if (object === null) continue;
    const key = `${object.apiVersion}/${object.kind}`;
    const Model = kinds[key];
    const name = `${file}: ${key} ${object.metadata?.name}`;
    if (Model === undefined) {
      console.error(`${name}: no schema for this kind here; add it to validate.mjs`);
      failed++;
      continue;
    }
    try {
      new Model(object).validate();
      console.log(`${name}: valid`);
    } catch (e) {
      console.error(`${name}: INVALID: ${e.message}`);
      failed++;
    }
  }
}
process.exit(failed === 0 ? 0 : 1);
