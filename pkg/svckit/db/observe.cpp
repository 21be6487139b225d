#include "svckit/db/detail/observe.hpp"

#include <cctype>
#include <mutex>

#include "svckit/metrics/metrics.hpp"

namespace svckit::db::detail {

std::string_view operation_of(std::string_view sql) noexcept {
  std::size_t i = 0;
  while (i < sql.size() && (std::isspace(static_cast<unsigned char>(sql[i])) || sql[i] == '(')) ++i;
  std::size_t start = i;
  while (i < sql.size() && std::isalpha(static_cast<unsigned char>(sql[i]))) ++i;
  std::string_view word = sql.substr(start, i - start);
  static constexpr std::string_view kKnown[] = {"SELECT", "INSERT",   "UPDATE", "DELETE",   "WITH",      "BEGIN",
                                                "COMMIT", "ROLLBACK", "COPY",   "LISTEN",   "SAVEPOINT", "RELEASE",
                                                "CREATE", "ALTER",    "DROP",   "TRUNCATE", "SET",       "VALUES"};
  for (auto k : kKnown) {
    if (k.size() != word.size()) continue;
    bool same = true;
    for (std::size_t j = 0; j < k.size() && same; ++j) same = std::toupper(static_cast<unsigned char>(word[j])) == k[j];
    if (same) return k;
  }
  return "OTHER";
}

Context finish_context(const Context& began) {
  Context ctx = is_probe(began) ? as_probe(Context()) : Context();
  auto span = trace::span_from(began);
  return span ? trace::with_span(ctx, *span) : ctx;
}

namespace {

struct DbMetrics {
  metrics::CounterVec& queries;
  metrics::HistogramVec& duration;
};

DbMetrics& db_metrics() {
  auto& r = metrics::Registry::global();
  static DbMetrics m{
      r.counter_vec({.name = "svckit_db_queries_total", .help = "Database calls by driver, operation and result code."},
                    {"driver", "operation", "code"}),
      r.histogram_vec({.name = "svckit_db_query_duration_seconds",
                       .help = "Database call latency by driver and operation.",
                       .buckets = metrics::exponential_buckets(0.0001, 2.5, 12)},
                      {"driver", "operation"})};
  return m;
}

}  // namespace

Observe::Observe(const Context& ctx, std::string_view driver, std::string_view sql)
    : ctx_(ctx),
      driver_(driver),
      operation_(operation_of(sql)),
      start_(std::chrono::steady_clock::now()),
      quiet_(is_probe(ctx)) {
  if (quiet_) return;
  if (auto tracer = trace::Tracer::global()) {
    span_ = tracer->start(ctx, operation_, trace::SpanKind::kClient,
                          {{"db.system", std::string(driver == "postgres" ? "postgresql" : driver)},
                           {"db.operation", std::string(operation_)},
                           {"db.statement", std::string(sql.substr(0, 2048))}});
    if (span_.recording() || span_.context().trace_id.valid()) ctx_ = trace::with_span(ctx, span_.context());
  }
}

void Observe::finish(const Status& status) {
  finished_ = true;
  if (quiet_) return;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  auto& m = db_metrics();
  std::string_view code = status.ok() ? std::string_view("OK") : code_name(status.code());
  m.queries.with({driver_, operation_, code}).inc();
  m.duration.with({driver_, operation_}).observe(seconds);
  if (!status.ok()) span_.record_error(status);
  span_.end();
}

}  // namespace svckit::db::detail
