-- {{name}}'s items (SQLite). The version column is the row's optimistic-concurrency counter (the ETag).
CREATE TABLE items (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  description TEXT NOT NULL DEFAULT '',
  version     INTEGER NOT NULL DEFAULT 1
);
