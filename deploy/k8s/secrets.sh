#!/usr/bin/env bash
# Creates the dev overlay's Secrets in the cluster kubectl points at, with random values, once: the
# identity sealing key, a bootstrap file with a demo admin and clerk, licence-signing key (Ed25519 JWK),
# the user centre's cursor secret, a PostgreSQL password per service plus the admin's, and the admin
# ports' bearer token. Values are
# written under deploy/k8s/overlays/dev/secrets/ (gitignored, mode 0600) so that a re-run reuses
# them; nothing is committed. staging and prod take theirs from the secret store (ExternalSecrets).
# usage: deploy/k8s/secrets.sh [NAMESPACE]        (default svckit-dev)
set -euo pipefail
ns=${1:-svckit-dev}
dir="$(cd "$(dirname "$0")" && pwd)/overlays/dev/secrets"
mkdir -p "$dir" && chmod 700 "$dir"
umask 077
rand() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
[ -s "$dir/sealing.key" ] || rand 32 >"$dir/sealing.key"
[ -s "$dir/bootstrap.json" ] || cat >"$dir/bootstrap.json" <<JSON
{"accounts": [
  {"email": "admin@gov.example", "password": "admin-$(rand 12)", "name": "Platform Admin", "roles": ["admin"]},
  {"email": "clerk@gov.example", "password": "clerk-$(rand 12)", "name": "Licence Clerk", "roles": ["clerk"],
   "authority": "Demo Market Supervision Bureau"}
]}
JSON
if [ ! -s "$dir/signing-key.jwk" ]; then
  openssl genpkey -algorithm ed25519 -out "$dir/ed25519.pem"
  d=$(openssl pkey -in "$dir/ed25519.pem" -outform DER | tail -c 32 | b64url)
  x=$(openssl pkey -in "$dir/ed25519.pem" -pubout -outform DER | tail -c 32 | b64url)
  printf '{"kty":"OKP","crv":"Ed25519","x":"%s","d":"%s"}\n' "$x" "$d" >"$dir/signing-key.jwk"
  rm -f "$dir/ed25519.pem"
fi
[ -s "$dir/cursor.secret" ] || rand 32 >"$dir/cursor.secret"
[ -s "$dir/admin-token" ] || rand 32 >"$dir/admin-token"
for s in postgres-admin auth-svc-db license-svc-db user-svc-db; do [ -s "$dir/$s" ] || rand 24 >"$dir/$s"; done

kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"
apply() { kubectl -n "$ns" create secret generic "$1" "${@:2}" --dry-run=client -o yaml | kubectl -n "$ns" apply -f -; }
apply auth-svc-sealing-key --from-file=sealing.key="$dir/sealing.key"
apply auth-svc-bootstrap --from-file=bootstrap.json="$dir/bootstrap.json"
apply license-svc-signing-key --from-file=signing-key.jwk="$dir/signing-key.jwk"
apply user-svc-cursor-secret --from-file=cursor.secret="$dir/cursor.secret"
apply svckit-admin-token --from-file=token="$dir/admin-token"
for s in postgres-admin auth-svc-db license-svc-db user-svc-db; do apply "$s" --from-file=password="$dir/$s"; done
echo "secrets: created in $ns (values in $dir; the demo accounts' passwords in bootstrap.json)"
