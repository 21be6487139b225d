-- The user centre's users (SQLite dialect: see docs/db.md). Emails are stored lower-cased.
CREATE TABLE users (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  email       TEXT NOT NULL,
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  external_id TEXT,
  profile     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(profile) AND json_type(profile) = 'object'),
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  CONSTRAINT users_email_key UNIQUE (email),
  CONSTRAINT users_external_id_key UNIQUE (external_id)
);
