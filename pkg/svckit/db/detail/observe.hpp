#pragma once
// Internal: what every database call records without user code: a client span (child of the span in
// the caller's Context: db.system, db.operation, db.statement) and RED metrics
//   svckit_db_queries_total{driver,operation,code}, svckit_db_query_duration_seconds{driver,operation}.
// operation is the statement's first keyword (SELECT, INSERT…), never the SQL text: low cardinality.
// A call made for a probe (is_probe(ctx): a readiness check's ping) records nothing.
#include <chrono>
#include <string_view>

#include "svckit/core/context.hpp"
#include "svckit/core/status.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::db::detail {

std::string_view operation_of(std::string_view sql) noexcept;

// What COMMIT and ROLLBACK run with: the span of the Context that began the transaction (their spans
// belong to its trace) and none of its deadline or cancellation (a transaction is always finished).
Context finish_context(const Context& began);

class Observe {
 public:
  Observe(const Context& ctx, std::string_view driver, std::string_view sql);
  // The Context to run the query with: it carries the client span.
  const Context& context() const noexcept { return ctx_; }
  void finish(const Status& status);
  ~Observe() {
    if (!finished_) finish(Status(Code::kCancelled, "abandoned"));
  }

 private:
  Context ctx_;
  std::string_view driver_;
  std::string_view operation_;
  trace::Span span_;
  std::chrono::steady_clock::time_point start_;
  bool finished_ = false;
  bool quiet_ = false;
};

}  // namespace svckit::db::detail
