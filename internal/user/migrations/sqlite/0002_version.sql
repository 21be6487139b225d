-- The row's version for optimistic concurrency: updates require the version they read and add 1; the
-- API shows it as the ETag.
ALTER TABLE users ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
