-- Unified identity. Profiles live in the user centre; this database holds what proves who someone is
-- and what they may do.
CREATE TABLE credentials (
  user_id       bigint PRIMARY KEY,           -- the user centre's id
  login         text        NOT NULL,         -- the email, lower-cased
  password_hash text        NOT NULL,         -- argon2id, PHC string format
  roles         text        NOT NULL DEFAULT 'citizen',  -- space-separated: citizen clerk admin
  authority     text,                         -- the issuing authority a clerk works for
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  version       bigint      NOT NULL DEFAULT 1,
  CONSTRAINT credentials_login_key UNIQUE (login)
);
CREATE TABLE refresh_tokens (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  token_hash text        NOT NULL,            -- SHA-256 of the token, base64url; the token is never stored
  family     text        NOT NULL,            -- one login's chain of rotated tokens
  user_id    bigint      NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at    timestamptz,                     -- rotated: presenting it again revokes the family
  revoked_at timestamptz,
  CONSTRAINT refresh_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE TABLE signing_keys (
  kid          text PRIMARY KEY,
  alg          text        NOT NULL,
  sealed       text        NOT NULL,          -- the private JWK, XChaCha20-Poly1305 under the sealing key
  public_jwk   text        NOT NULL,
  activates_at timestamptz NOT NULL,
  created_at   timestamptz NOT NULL
);
-- Who changed whose roles, and the one-time bootstrap: appended, never updated.
CREATE TABLE identity_audit (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at         timestamptz NOT NULL,
  actor      text        NOT NULL,            -- a user id, or "bootstrap"
  action     text        NOT NULL,
  subject    text        NOT NULL,
  detail     text        NOT NULL DEFAULT '',
  client     text        NOT NULL DEFAULT '',
  request_id text        NOT NULL DEFAULT ''
);
CREATE FUNCTION identity_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'identity_audit is append-only'; END $$;
CREATE TRIGGER identity_audit_append_only BEFORE UPDATE OR DELETE ON identity_audit
  FOR EACH ROW EXECUTE FUNCTION identity_audit_append_only();
