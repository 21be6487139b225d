#pragma once
// The user centre: a REST resource over the users table (its OpenAPI document at /openapi.json), on any svckit
// Database (SQLite by default, PostgreSQL by config), through a db::Repository of one User struct that
// is also the JSON body. Every query is parameterised; every error is a Status in svckit's error
// format; a database that is down answers 503 with Retry-After. A user's row version is its ETag:
// writes never lose a concurrent change, and PATCH/DELETE with a stale If-Match answer 412.
#include <memory>

#include "svckit/db/database.hpp"
#include "svckit/http/router.hpp"
#include "svckit/log/logger.hpp"

namespace svckit::user {

struct Options {
  int default_page = 20;
  int max_page = 100;
  std::uint64_t max_body = 64 * 1024;  // bytes of a create/patch/upsert body
  // Signs the list's page cursors (HMAC-SHA256), so a client cannot make one up; empty: cursors are
  // checked against their listing but not signed. The same on every instance of the service.
  std::string cursor_secret;
};

// Registers POST/GET /v1/users, GET/PATCH/DELETE /v1/users/:id and PUT /v1/users/by-external-id/:ext.
// db must outlive the router.
void mount(http::Router& router, std::shared_ptr<db::Database> db, log::Logger logger, Options options = {});

}  // namespace svckit::user
