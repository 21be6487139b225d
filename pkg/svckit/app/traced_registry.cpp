#include "svckit/app/detail/traced_registry.hpp"

#include "svckit/trace/tracer.hpp"

namespace svckit::app::detail {

namespace {

trace::Span start(const Context& ctx, std::string_view name, const std::string& backend, std::string_view service,
                  std::string_view instance = {}) {
  trace::Tracer* tracer = trace::Tracer::current();
  if (!tracer) return {};
  std::vector<trace::Attribute> attrs = {{"discovery.backend", backend}, {"discovery.service", std::string(service)}};
  if (!instance.empty()) attrs.push_back({"discovery.instance", std::string(instance)});
  return tracer->start(ctx, name, trace::SpanKind::kClient, std::move(attrs));
}

}  // namespace

Task<Status> TracedRegistry::register_instance(const Context& ctx, const discovery::Instance& instance) {
  trace::Span span = start(ctx, "discovery register", backend_, instance.name, instance.id);
  Status st = co_await registrar_->register_instance(ctx, instance);
  if (!st.ok()) span.record_error(st);
  co_return st;
}

Task<Status> TracedRegistry::deregister(const Context& ctx, const discovery::Instance& instance) {
  trace::Span span = start(ctx, "discovery deregister", backend_, instance.name, instance.id);
  Status st = co_await registrar_->deregister(ctx, instance);
  if (!st.ok()) span.record_error(st);
  co_return st;
}

Task<Result<std::vector<discovery::Instance>>> TracedRegistry::instances(const Context& ctx, std::string service) {
  trace::Span span = start(ctx, "discovery instances", backend_, service);
  auto set = co_await discovery_->instances(ctx, service);
  if (!set)
    span.record_error(set.error());
  else
    span.set_attribute("discovery.instances", static_cast<std::int64_t>(set->size()));
  co_return set;
}

Task<Result<std::vector<std::string>>> TracedRegistry::services(const Context& ctx) {
  trace::Span span = start(ctx, "discovery services", backend_, "*");
  auto names = co_await discovery_->services(ctx);
  if (!names) span.record_error(names.error());
  co_return names;
}

}  // namespace svckit::app::detail
