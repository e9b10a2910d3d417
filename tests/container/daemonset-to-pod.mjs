// Turns the DaemonSet of deploy/kubernetes/binfmtd.yaml into what `podman kube play`
// (Debian's podman 4.3 has no DaemonSet) can run: the ConfigMaps as they are, and a Pod
// made of the DaemonSet's pod template, as the DaemonSet controller would make it for one
// node. Generated, never copied by hand, so the test runs what the manifest says.
//   node daemonset-to-pod.mjs binfmtd.yaml > pod.yaml
import { readFileSync } from "node:fs";
import { parseAllDocuments, stringify } from "yaml";

const out = [];
for (const doc of parseAllDocuments(readFileSync(process.argv[2], "utf8"))) {
  const o = doc.toJS();
  if (o === null) continue;
  if (o.kind === "ConfigMap") {
    delete o.metadata.namespace;
    out.push(o);
  } else if (o.kind === "DaemonSet") {
    const template = o.spec.template;
    out.push({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: o.metadata.name, labels: template.metadata.labels },
      spec: template.spec,
    });
  }
}
if (!out.some((o) => o.kind === "Pod")) {
  console.error(`${process.argv[2]}: no DaemonSet found`);
  process.exit(1);
}
process.stdout.write(out.map((o) => stringify(o)).join("---\n"));
