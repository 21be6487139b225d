-- The user centre's users. Emails are stored lower-cased; external_id is the caller's own key (upserts).
CREATE TABLE users (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email       text        NOT NULL,
  name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  external_id text,
  profile     jsonb       NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(profile) = 'object'),
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  CONSTRAINT users_email_key UNIQUE (email),
  CONSTRAINT users_external_id_key UNIQUE (external_id)
);
-- Filtering on profile fields (profile ->> 'city' = ...) uses this index through containment.
CREATE INDEX users_profile_idx ON users USING gin (profile jsonb_path_ops);
