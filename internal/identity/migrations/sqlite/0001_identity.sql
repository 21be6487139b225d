-- Unified identity (SQLite dialect: see docs/db.md). Profiles live in the user centre; this database
-- holds what proves who someone is and what they may do.
CREATE TABLE credentials (
  user_id       INTEGER PRIMARY KEY,          -- the user centre's id
  login         TEXT NOT NULL,                -- the email, lower-cased
  password_hash TEXT NOT NULL,                -- argon2id, PHC string format
  roles         TEXT NOT NULL DEFAULT 'citizen',  -- space-separated: citizen clerk admin
  authority     TEXT,                         -- the issuing authority a clerk works for
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  version       INTEGER NOT NULL DEFAULT 1,
  CONSTRAINT credentials_login_key UNIQUE (login)
);
CREATE TABLE refresh_tokens (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  token_hash TEXT NOT NULL,                   -- SHA-256 of the token, base64url; the token is never stored
  family     TEXT NOT NULL,                   -- one login's chain of rotated tokens
  user_id    INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  used_at    TEXT,                            -- rotated: presenting it again revokes the family
  revoked_at TEXT,
  CONSTRAINT refresh_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE TABLE signing_keys (
  kid          TEXT PRIMARY KEY,
  alg          TEXT NOT NULL,
  sealed       TEXT NOT NULL,                 -- the private JWK, XChaCha20-Poly1305 under the sealing key
  public_jwk   TEXT NOT NULL,
  activates_at TEXT NOT NULL,
  created_at   TEXT NOT NULL
);
-- Who changed whose roles, and the one-time bootstrap: appended, never updated.
CREATE TABLE identity_audit (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  at         TEXT NOT NULL,
  actor      TEXT NOT NULL,                   -- a user id, or "bootstrap"
  action     TEXT NOT NULL,
  subject    TEXT NOT NULL,
  detail     TEXT NOT NULL DEFAULT '',
  client     TEXT NOT NULL DEFAULT '',
  request_id TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER identity_audit_no_update BEFORE UPDATE ON identity_audit
BEGIN SELECT RAISE(ABORT, 'identity_audit is append-only'); END;
CREATE TRIGGER identity_audit_no_delete BEFORE DELETE ON identity_audit
BEGIN SELECT RAISE(ABORT, 'identity_audit is append-only'); END;
