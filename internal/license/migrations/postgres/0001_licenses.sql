-- The electronic licence service. docs/license.md describes the model.
CREATE TABLE license_types (
  code   text PRIMARY KEY,
  name   text NOT NULL,
  schema jsonb NOT NULL CHECK (jsonb_typeof(schema) = 'object')
);
-- A licence: the signed canonical text and its signature, with its fields repeated for queries.
-- Only the revocation columns and the version ever change.
CREATE TABLE licenses (
  id             text PRIMARY KEY,
  type           text NOT NULL REFERENCES license_types (code),
  number         text NOT NULL CHECK (length(number) BETWEEN 1 AND 64),
  holder         text NOT NULL,
  authority      text NOT NULL,
  valid_from     timestamptz NOT NULL,
  valid_until    timestamptz NOT NULL,
  attributes     text NOT NULL,
  issued_at      timestamptz NOT NULL,
  kid            text NOT NULL,
  signature      text NOT NULL,
  canonical      text NOT NULL,
  revoked_at     timestamptz,
  revoked_reason text,
  revoked_by     text,
  version        bigint NOT NULL DEFAULT 1,
  CONSTRAINT licenses_type_number_key UNIQUE (type, number),
  CONSTRAINT licenses_validity_check CHECK (valid_until > valid_from)
);
CREATE INDEX licenses_page_idx ON licenses (issued_at, id);
CREATE INDEX licenses_holder_idx ON licenses (holder, issued_at, id);
CREATE INDEX licenses_authority_idx ON licenses (authority, issued_at, id);
-- Idempotency-Key on issue: one row per (token subject, key), written in the transaction that issues;
-- a concurrent duplicate waits on the primary key and then finds the first one's answer.
CREATE TABLE idempotency_keys (
  subject      text NOT NULL,
  idem_key     text NOT NULL,
  request_hash text NOT NULL,
  status       bigint NOT NULL,
  response     text NOT NULL,
  license_id   text,
  created_at   timestamptz NOT NULL,
  PRIMARY KEY (subject, idem_key)
);
-- Append-only: the trigger refuses every UPDATE, DELETE and TRUNCATE.
CREATE TABLE audit_log (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at            timestamptz NOT NULL,
  subject       text NOT NULL,
  role          text NOT NULL,
  action        text NOT NULL,
  license_id    text NOT NULL,
  client_ip     text NOT NULL,
  forwarded_for text,
  request_id    text NOT NULL
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
