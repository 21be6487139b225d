// The client side: channels with retries and the client interceptor (RED metrics and a client span
// per call), and the ClientContext that carries a Context's deadline, trace and metadata.
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_interceptor.h>

#include <algorithm>
#include <chrono>

#include "svckit/core/strings.hpp"
#include "svckit/grpc/detail/methods.hpp"
#include "svckit/grpc/grpc.hpp"
#include "svckit/metrics/metrics.hpp"
#include "svckit/trace/tracer.hpp"

namespace svckit::grpc {

using detail::MethodTable;
using detail::split_method;

namespace {

struct ClientMethod {
  std::string service, method, span_name;
  metrics::Counter handled_ok;
  metrics::Histogram seconds;
};

struct ClientMetrics {
  metrics::CounterVec& handled;
  metrics::HistogramVec& seconds;
  explicit ClientMetrics(metrics::Registry& r)
      : handled(r.counter_vec({.name = "grpc_client_handled_total", .help = "RPCs completed by the client, by code."},
                              {"grpc_service", "grpc_method", "grpc_code"})),
        seconds(r.histogram_vec({.name = "grpc_client_handling_seconds", .help = "Client-side RPC latency."},
                                {"grpc_service", "grpc_method"})) {}
  const ClientMethod& method(const char* full) {
    return methods_.get(full, [&](std::string_view, std::string service, std::string method) {
      return ClientMethod{service, method, service + "/" + method, handled.with({service, method, "OK"}),
                          seconds.with({service, method})};
    });
  }

 private:
  MethodTable<ClientMethod> methods_;
};
ClientMetrics& client_metrics() {
  static ClientMetrics m(metrics::Registry::global());
  return m;
}

// A client span per call, child of the span whose context client_context() put in the outgoing
// metadata; the propagation headers are rewritten to carry the client span, so the server's span is
// the client span's child (caller → client span → server span, as OpenTelemetry's gRPC
// instrumentation links them).
class ClientObserver final : public ::grpc::experimental::Interceptor {
 public:
  explicit ClientObserver(::grpc::experimental::ClientRpcInfo* info)
      : m_(client_metrics().method(info->method())), start_(std::chrono::steady_clock::now()) {}
  ~ClientObserver() override { span_.end(); }

  void Intercept(::grpc::experimental::InterceptorBatchMethods* b) override {
    using Hook = ::grpc::experimental::InterceptionHookPoints;
    if (b->QueryInterceptionHookPoint(Hook::PRE_SEND_INITIAL_METADATA)) begin(*b->GetSendInitialMetadata());
    if (b->QueryInterceptionHookPoint(Hook::POST_RECV_STATUS)) finish(*b->GetRecvStatus());
    b->Proceed();
  }

 private:
  void begin(std::multimap<std::string, std::string>& md) {
    auto tracer = trace::Tracer::global();
    if (!tracer) return;
    auto parent = trace::extract(
        [&](std::string_view k) -> std::string_view {
          auto it = md.find(ascii_lower(k));
          return it == md.end() ? std::string_view() : std::string_view(it->second);
        },
        tracer->propagation());
    span_ = tracer->start_span(m_.span_name, trace::SpanKind::kClient, parent);
    if (span_.recording()) {
      span_.set_attribute("rpc.system", "grpc");
      span_.set_attribute("rpc.service", m_.service);
      span_.set_attribute("rpc.method", m_.method);
    }
    std::vector<std::pair<std::string, std::string>> headers;
    trace::inject(
        span_.context(),
        [&](std::string_view k, std::string_view v) { headers.emplace_back(ascii_lower(k), std::string(v)); },
        tracer->propagation());
    for (auto& [k, v] : headers) md.erase(k);
    for (auto& [k, v] : headers) md.emplace(std::move(k), std::move(v));
  }

  void finish(const ::grpc::Status& st) {
    std::string_view code = code_name(code_from_grpc(static_cast<int>(st.error_code())));
    if (st.ok())
      m_.handled_ok.inc();
    else
      client_metrics().handled.with({m_.service, m_.method, code}).inc();
    m_.seconds.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
    if (span_.recording()) {
      if (!st.ok()) span_.set_status(trace::StatusCode::kError, std::string(code) + ": " + st.error_message());
      span_.set_attribute("rpc.grpc.status_code", static_cast<int>(st.error_code()));
    }
    span_.end();
  }

  const ClientMethod& m_;
  std::chrono::steady_clock::time_point start_;
  trace::Span span_;
};

class ClientObserverFactory final : public ::grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  ::grpc::experimental::Interceptor* CreateClientInterceptor(::grpc::experimental::ClientRpcInfo* info) override {
    return new ClientObserver(info);
  }
};

}  // namespace

std::unique_ptr<::grpc::ClientContext> client_context(const Context& ctx, std::chrono::milliseconds fallback) {
  auto c = std::make_unique<::grpc::ClientContext>();
  auto left = ctx.deadline() ? ctx.remaining() : std::chrono::duration_cast<Duration>(fallback);
  c->set_deadline(std::chrono::system_clock::now() + left);
  if (auto tracer = trace::Tracer::global()) {
    if (auto span = trace::span_from(ctx)) {
      trace::inject(
          *span, [&](std::string_view k, std::string_view v) { c->AddMetadata(ascii_lower(k), std::string(v)); },
          tracer->propagation());
    }
    if (const auto* bag = trace::baggage_from(ctx); bag && !bag->empty())
      c->AddMetadata("baggage", trace::format_baggage(*bag));
  }
  for (const auto& [k, v] : ctx.all_metadata()) c->AddMetadata(ascii_lower(k), std::string(v));
  return c;
}

ChannelPool::ChannelPool(std::string target, ChannelOptions options)
    : target_(std::move(target)), options_(std::move(options)) {
  constexpr std::string_view kDiscovery = "discovery:///";
  if (target_.rfind(kDiscovery, 0) == 0) {
    if (!options_.discovery)
      throw std::invalid_argument("ChannelPool(" + target_ + ") needs ChannelOptions::discovery");
    // A target that answers nothing: calls made while no instance is known fail with UNAVAILABLE.
    nowhere_ = make("unix:/nonexistent/svckit-no-instance-of-" + target_.substr(kDiscovery.size()));
    watch_ = options_.discovery->watch(target_.substr(kDiscovery.size()),
                                       [this](const std::vector<discovery::Instance>& set) { follow(set); });
    return;
  }
  std::size_t n = std::max<std::size_t>(options_.pool_size, 1);
  for (std::size_t i = 0; i < n; ++i) channels_.push_back(make(target_));
}

std::shared_ptr<::grpc::Channel> ChannelPool::make(const std::string& target) const {
  ::grpc::ChannelArguments args;
  // A local subchannel pool per channel: each channel gets its own HTTP/2 connection.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(options_.keepalive_time.count()));
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  args.SetServiceConfigJSON(
      R"({"methodConfig":[{"name":[{}],"retryPolicy":{"maxAttempts":)" +
      std::to_string(std::max(options_.max_attempts, 2)) +
      R"(,"initialBackoff":"0.05s","maxBackoff":"1s","backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}]})");
  std::vector<std::unique_ptr<::grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  if (options_.observe) interceptors.push_back(std::make_unique<ClientObserverFactory>());
  return ::grpc::experimental::CreateCustomChannelWithInterceptors(target, ::grpc::InsecureChannelCredentials(), args,
                                                                   std::move(interceptors));
}

// A new set from the registry: a channel per instance with a grpc endpoint, kept across sets while
// its instance stays (its connection too).
void ChannelPool::follow(const std::vector<discovery::Instance>& set) {
  std::map<std::string, std::shared_ptr<::grpc::Channel>> next;
  std::vector<std::shared_ptr<::grpc::Channel>> channels;
  std::lock_guard lock(mu_);
  for (const discovery::Instance& i : set) {
    auto endpoint = i.endpoint("grpc");
    if (!endpoint || next.count(std::string(*endpoint))) continue;
    std::string key(*endpoint);
    auto it = by_endpoint_.find(key);
    auto channel = it != by_endpoint_.end() ? it->second : make(key);
    next.emplace(key, channel);
    channels.push_back(std::move(channel));
  }
  by_endpoint_ = std::move(next);
  channels_ = std::move(channels);
}

ChannelPool::~ChannelPool() {
  watch_.reset();  // no callback from here on
}

std::shared_ptr<::grpc::Channel> ChannelPool::get() {
  std::lock_guard lock(mu_);
  if (channels_.empty()) return nowhere_;
  return channels_[next_.fetch_add(1, std::memory_order_relaxed) % channels_.size()];
}

std::size_t ChannelPool::size() const {
  std::lock_guard lock(mu_);
  return channels_.size();
}

}  // namespace svckit::grpc
