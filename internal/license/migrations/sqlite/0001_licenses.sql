-- The electronic licence service (SQLite dialect: see docs/db.md; timestamps are ISO 8601 UTC text,
-- which orders as time does). docs/license.md describes the model.
CREATE TABLE license_types (
  code   TEXT PRIMARY KEY,
  name   TEXT NOT NULL,
  schema TEXT NOT NULL CHECK (json_valid(schema) AND json_type(schema) = 'object')
);
-- A licence: the signed canonical text and its signature, with its fields repeated for queries.
-- Only the revocation columns and the version ever change.
CREATE TABLE licenses (
  id             TEXT PRIMARY KEY,
  type           TEXT NOT NULL REFERENCES license_types (code),
  number         TEXT NOT NULL CHECK (length(number) BETWEEN 1 AND 64),
  holder         TEXT NOT NULL,
  authority      TEXT NOT NULL,
  valid_from     TEXT NOT NULL,
  valid_until    TEXT NOT NULL,
  attributes     TEXT NOT NULL CHECK (json_valid(attributes)),
  issued_at      TEXT NOT NULL,
  kid            TEXT NOT NULL,
  signature      TEXT NOT NULL,
  canonical      TEXT NOT NULL,
  revoked_at     TEXT,
  revoked_reason TEXT,
  revoked_by     TEXT,
  version        INTEGER NOT NULL DEFAULT 1,
  CONSTRAINT licenses_type_number_key UNIQUE (type, number),
  CONSTRAINT licenses_validity_check CHECK (valid_until > valid_from)
);
CREATE INDEX licenses_page_idx ON licenses (issued_at, id);
CREATE INDEX licenses_holder_idx ON licenses (holder, issued_at, id);
CREATE INDEX licenses_authority_idx ON licenses (authority, issued_at, id);
-- Idempotency-Key on issue: one row per (token subject, key), written in the transaction that issues.
CREATE TABLE idempotency_keys (
  subject      TEXT NOT NULL,
  idem_key     TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  status       INTEGER NOT NULL,
  response     TEXT NOT NULL,
  license_id   TEXT,
  created_at   TEXT NOT NULL,
  PRIMARY KEY (subject, idem_key)
);
-- Append-only: the triggers refuse every UPDATE and DELETE.
CREATE TABLE audit_log (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  at            TEXT NOT NULL,
  subject       TEXT NOT NULL,
  role          TEXT NOT NULL,
  action        TEXT NOT NULL,
  license_id    TEXT NOT NULL,
  client_ip     TEXT NOT NULL,
  forwarded_for TEXT,
  request_id    TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
  SELECT RAISE(ABORT, 'audit_log is append-only');
END;
