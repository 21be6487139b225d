-- {{name}}'s items (PostgreSQL). The version column is the row's optimistic-concurrency counter (the ETag).
CREATE TABLE items (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name        text   NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  description text   NOT NULL DEFAULT '',
  version     bigint NOT NULL DEFAULT 1
);
