// Validates rendered Kubernetes manifests against the Kubernetes OpenAPI schemas, offline: npm's
// kubernetes-models (JSON schemas of the API generated from Kubernetes' OpenAPI document, checked with
// ajv). Unknown fields, wrong types and missing required fields are refused.
// usage: node k8s_validate.js [--crd Kind]... FILE...
//   --crd Kind: a custom resource kind (no schema in kubernetes-models) accepted here; policy.py and
//   the docs say what is checked of it instead.
const fs = require('fs');
const YAML = require('yaml');
const args = process.argv.slice(2);
const crds = new Set();
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--crd') crds.add(args[++i]); else files.push(args[i]);
}
let bad = 0, ok = 0, skipped = 0;
for (const f of files) {
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(f, 'utf8'))) {
    if (doc.errors.length) { console.error(`${f}: YAML error: ${doc.errors[0].message}`); bad++; continue; }
    const o = doc.toJS();
    if (!o) continue;
    const id = `${f}: ${o.kind}/${o.metadata && o.metadata.name}`;
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') { console.error(`${id}: no apiVersion/kind`); bad++; continue; }
    if (crds.has(o.kind)) { skipped++; continue; }
    const [group, version] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['', o.apiVersion];
    let mod;
    try { mod = require(`kubernetes-models/${group ? group + '/' : ''}${version}/${o.kind}`); }
    catch (e) { console.error(`${id}: unknown apiVersion/kind ${o.apiVersion} ${o.kind}`); bad++; continue; }
    const Cls = mod[o.kind] || mod.default || Object.values(mod)[0];
    try { new Cls(o).validate(); ok++; }
    catch (e) { console.error(`${id} INVALID: ${e.message.split('\n').slice(0, 4).join(' | ')}`); bad++; }
  }
}
console.log(`k8s_validate: ${ok} valid, ${bad} invalid, ${skipped} custom resources not schema-checked`);
process.exit(bad || ok === 0 ? 1 : 0);
