#pragma once
// A gRPC service served by svckit's own dispatch: typed handlers registered by method name, checked
// against the .proto's descriptor at registration, observed inline (metrics, server span, log line,
// deadline Context, grpc.limits and shedding decided before the handler runs) instead of through
// grpc++'s interceptors, whose machinery alone costs more than svckit's observation (docs/grpc.md).
//
// ```cpp
//   #include "inventory/v1/inventory.grpc.pb.h"   // tests/consumer/inventory's contract
//   using namespace inventory::v1;
//   struct ListItems final : svckit::grpc::ServerStream<ListItemsRequest, Item> {   // hooks: on_message...
//     void on_message(ListItemsRequest& in) override { finish(Status()); }
//   };
//   void add_items(svckit::grpc::Server& server) {
//     static svckit::grpc::Service items("inventory.v1.Inventory");
//     items.unary<GetItemRequest, Item>("GetItem", [](svckit::Context& ctx, const GetItemRequest& in, Item& out) {
//       out.set_id(in.id());
//       return svckit::Status();                              // runs on a gRPC callback thread
//     });
//     items.stream<ListItemsRequest, Item>("ListItems",
//                                          [](svckit::Context&) { return std::make_unique<ListItems>(); });
//     server.add_service(&items);
//   }
// ```
//
// Streaming methods read best as coroutines on svckit's runtime (stream_task, server_stream_task):
// ```cpp continued
//   using ItemStream = svckit::grpc::Stream<ListItemsRequest, Item>;
//   void add_list(svckit::grpc::Service& items, Runtime& rt, std::shared_ptr<db::Database> db) {
//     auto list = [db](const ListItemsRequest& in, ItemStream& out) -> Task<Status> {
//       db::Params args{in.min_quantity()};           // named: GCC 12 rejects a braced list in co_await
//       auto rows = co_await db->query(out.context(), "SELECT id, name FROM items WHERE quantity >= $1", args);
//       if (!rows) co_return rows.error();
//       for (auto row : *rows) {
//         Item it;
//         it.set_name(row.get<std::string>("name").value_or(""));
//         if (Status st = co_await out.write(it); !st.ok()) co_return st;  // waits while the client is slow
//       }
//       co_return Status();
//     };
//     items.server_stream_task<ListItemsRequest, Item>("ListItems", rt, list);
//   }
// ```
//
// Handlers must not block for long: they run on grpc++'s callback threads. A handler that waits on I/O
// takes the async form (unary_async) and answers from wherever the I/O completes, or is a coroutine on
// svckit's runtime (unary_task) that co_awaits svckit's clients (db, http) with the call's Context.
#include <grpcpp/impl/codegen/proto_utils.h>  // SerializationTraits for protobuf messages
#include <grpcpp/impl/codegen/server_callback_handlers.h>
#include <grpcpp/impl/rpc_method.h>
#include <grpcpp/impl/service_type.h>
#include <grpcpp/server_context.h>
#include <grpcpp/support/method_handler.h>
#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "svckit/core/context.hpp"
#include "svckit/core/notifier.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/core/status.hpp"
#include "svckit/core/task.hpp"
#include "svckit/grpc/grpc.hpp"
#include "svckit/resilience/limiter.hpp"
#include "svckit/resilience/shedder.hpp"
#include "svckit/trace/tracer.hpp"

namespace google::protobuf {
class Descriptor;
}

namespace svckit::grpc {

namespace detail {

struct MethodStats;  // per method and server: names, metric handles, limits (grpc.cpp)

// grpc++ cancels a call at its deadline with its own timer, and the call's Context deadline is
// converted from grpc++'s system-clock deadline: the two may differ by this much.
inline constexpr std::chrono::milliseconds kDeadlineSkew{50};

// One method of a Service; `stats` is set when a Server starts with the service.
struct MethodSlot {
  std::string full_name;  // "/package.Service/Method"
  int index = 0;
  const char* kind = "unary";  // grpc_type label: unary, client_stream, server_stream, bidi_stream
  const MethodStats* stats = nullptr;
};

// What svckit observes of one served call, whichever way it is dispatched (a Service's reactor, or the
// interceptor on a generated grpc++ service).
class CallObservation {
 public:
  CallObservation() = default;
  CallObservation(const CallObservation&) = delete;
  CallObservation& operator=(const CallObservation&) = delete;
  ~CallObservation();  // a call that never finished is counted CANCELLED

  // Counts the call, starts its span from the caller's metadata, builds its Context; then the verdict
  // of shedding and the method's limits (a refusal is counted and carries the retry hint trailer).
  Status begin(const MethodStats* method, ::grpc::ServerContextBase* call,
               const std::multimap<::grpc::string_ref, ::grpc::string_ref>& metadata);
  void received() noexcept;
  void sent() noexcept;
  // Once; later calls do nothing.
  void finish(const ::grpc::Status& status);
  // The status of a call grpc++ reports cancelled: DEADLINE_EXCEEDED when its deadline has passed
  // (grpc++ cancels a call at its deadline too; its timer and the clocks may differ by a few
  // milliseconds), else CANCELLED by the client.
  ::grpc::Status cancelled_status() const;
  Context& context() noexcept { return ctx_; }
  const MethodStats* method() const noexcept { return m_; }

 private:
  const MethodStats* m_ = nullptr;
  ::grpc::ServerContextBase* call_ = nullptr;
  std::chrono::steady_clock::time_point start_;
  std::chrono::system_clock::time_point deadline_ = std::chrono::system_clock::time_point::max();
  trace::Span span_;
  Context ctx_;
  resilience::Bulkhead::Permit permit_;
  std::optional<resilience::Shedder::Promise> shed_promise_;
  bool finished_ = true;  // until begin()
};

// The status for a handler that threw: INTERNAL, with a log line naming the method.
Status handler_threw(const MethodStats* method, const Context& ctx, const char* what);

template <class Fn>
Status guarded(const MethodStats* method, const Context& ctx, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return handler_threw(method, ctx, e.what());
  } catch (...) {
    return handler_threw(method, ctx, "unknown exception");
  }
}

template <class Req, class Resp>
class StreamReactor;
template <class Req, class Resp>
class AsyncUnary;
template <class Req, class Resp>
class TaskStream;
template <class Req, class Resp>
class TaskStreamState;

}  // namespace detail

// The server's half of a streaming call (client, server or bidirectional streaming): svckit calls the
// on_* hooks, the handler answers with read(), write() and finish(). One read and one write may be in
// flight at a time, as in grpc++; the handler queues what it has to send. Hooks run on gRPC callback
// threads, read and write hooks possibly at the same time; the handler is deleted after on_done().
template <class Req, class Resp>
class ServerStream {
 public:
  virtual ~ServerStream() = default;

  // The call's Context: deadline (from grpc-timeout), server span, baggage, metadata, log fields.
  const Context& context() const;
  // Asks for the next message: on_message() or, when the client has no more, on_read_end().
  void read();
  // Sends `m` (kept alive by the caller until on_write_done).
  void write(const Resp& m);
  // Sends `m` and ends the call with OK.
  void write_last(const Resp& m);
  // Ends the call (once; later calls do nothing).
  void finish(const Status& status);

 protected:
  // After the call is admitted. Default: read the first message.
  virtual void on_start() { read(); }
  // A message; `m` is valid until the next read().
  virtual void on_message(Req& m) = 0;
  // The client half-closed, or the call is gone. Default: finish with OK.
  virtual void on_read_end() { finish(Status()); }
  virtual void on_write_done(bool /*ok*/) {}
  // The client cancelled or the deadline passed; the handler must still finish().
  virtual void on_cancel() {}
  virtual void on_done() {}

 private:
  friend class detail::StreamReactor<Req, Resp>;
  detail::StreamReactor<Req, Resp>* reactor_ = nullptr;
};

// A streaming call as a coroutine sees it (Service::stream_task). One read and one write may be
// awaited at a time (a reader and a writer coroutine may run side by side).
template <class Req, class Resp>
class Stream {
 public:
  virtual ~Stream() = default;
  // The call's Context: deadline (from grpc-timeout), server span, baggage, metadata, log fields.
  virtual const Context& context() const = 0;
  // The next message; nullopt once the client has sent its last one (or the call is gone).
  virtual Task<std::optional<Req>> read() = 0;
  // Sends m and resumes when grpc++ has taken it: a client that reads slowly slows the writer down
  // instead of queueing without bound. CANCELLED (or DEADLINE_EXCEEDED) once the call is gone.
  virtual Task<Status> write(const Resp& m) = 0;
  // Sends the messages in order, each as soon as grpc++ has taken the one before (on grpc++'s thread,
  // without waking the coroutine in between), and resumes after the last: what a writer with a queue
  // hands over at once, so a busy loop does not add its latency to every message.
  virtual Task<Status> write_all(std::vector<Resp> messages) = 0;
  // Ends the call now with `status` (from a coroutine other than the handler: a server stopping, a
  // consumer too slow); a read in progress then returns nullopt. The first status wins: the
  // handler's own return value is then ignored.
  virtual void finish(const Status& status) = 0;
};

// The answer to an async unary call. Move it to wherever the answer is made; finish() once, from any
// thread. Dropped unfinished, it answers INTERNAL, so a call is never left hanging.
template <class Resp>
class UnaryResponder {
 public:
  UnaryResponder() = default;
  UnaryResponder(UnaryResponder&& o) noexcept : call_(std::exchange(o.call_, nullptr)) {}
  UnaryResponder& operator=(UnaryResponder&& o) noexcept {
    if (this != &o) {
      drop();
      call_ = std::exchange(o.call_, nullptr);
    }
    return *this;
  }
  ~UnaryResponder() { drop(); }

  const Context& context() const;
  Resp& response();
  void finish(const Status& status);
  // For a handler that caught an exception: INTERNAL, and an error line naming the method.
  void finish_threw(const char* what);

 private:
  template <class, class>
  friend class detail::AsyncUnary;
  struct Call {
    virtual ~Call() = default;
    virtual Resp& response() = 0;
    virtual const Context& context() = 0;
    virtual void finish(const Status& status) = 0;  // deletes the call
    virtual void finish_threw(const char* what) = 0;
  };
  explicit UnaryResponder(Call* c) : call_(c) {}
  void drop() {
    if (call_)
      std::exchange(call_, nullptr)->finish(Status(Code::kInternal, "the handler dropped the call unanswered"));
  }
  Call* call_ = nullptr;
};

class Service : public ::grpc::Service {
 public:
  // The proto's full service name, "package.Service".
  explicit Service(std::string full_name);
  ~Service() override;
  const std::string& name() const noexcept { return name_; }

  template <class Req, class Resp>
  using UnaryFn = std::function<Status(Context& ctx, const Req& request, Resp& response)>;
  template <class Req, class Resp>
  using AsyncUnaryFn = std::function<void(const Req& request, UnaryResponder<Resp> responder)>;
  template <class Req, class Resp>
  using StreamFactory = std::function<std::unique_ptr<ServerStream<Req, Resp>>(Context& ctx)>;
  template <class Req, class Resp>
  using TaskFn = std::function<Task<Result<Resp>>(Context ctx, const Req& request)>;
  template <class Req, class Resp>
  using StreamTaskFn = std::function<Task<Status>(Stream<Req, Resp>& stream)>;
  template <class Req, class Resp>
  using ServerStreamTaskFn = std::function<Task<Status>(const Req& request, Stream<Req, Resp>& stream)>;

  // Registration throws std::invalid_argument when the method is not in the service's .proto with these
  // types and this streaming kind: a programmer error, found at start-up.

  // A unary method answered by the handler's return value.
  template <class Req, class Resp>
  Service& unary(std::string_view method, UnaryFn<Req, Resp> fn);
  // A unary method answered later through the responder (the request stays valid until then).
  template <class Req, class Resp>
  Service& unary_async(std::string_view method, AsyncUnaryFn<Req, Resp> fn);
  // A unary method as a coroutine on a loop of `runtime` (which must outlive the server's calls): it
  // co_awaits svckit's async clients; ctx carries the call's deadline, span and metadata. A runtime that
  // is stopping answers UNAVAILABLE; a throw answers INTERNAL with a log line.
  template <class Req, class Resp>
  Service& unary_task(std::string_view method, Runtime& runtime, TaskFn<Req, Resp> fn);
  // A client-, server- or bidirectionally streaming method: one handler object per call.
  template <class Req, class Resp>
  Service& stream(std::string_view method, StreamFactory<Req, Resp> factory);
  // A client-, server- or bidirectionally streaming method as a coroutine on a loop of `runtime`
  // (which must outlive the server's calls): it reads and writes with co_await and returns the
  // call's status. A runtime that is stopping answers UNAVAILABLE; a throw answers INTERNAL.
  template <class Req, class Resp>
  Service& stream_task(std::string_view method, Runtime& runtime, StreamTaskFn<Req, Resp> fn);
  // A server-streaming method as a coroutine: fn gets the one request and writes the responses.
  template <class Req, class Resp>
  Service& server_stream_task(std::string_view method, Runtime& runtime, ServerStreamTaskFn<Req, Resp> fn);

 private:
  friend class Server;
  detail::MethodSlot* add_method(std::string_view method, bool streaming, const google::protobuf::Descriptor* req,
                                 const google::protobuf::Descriptor* resp);
  std::string name_;
  std::deque<detail::MethodSlot> slots_;  // stable addresses: handlers and grpc++ point into it
};

// ---- implementation ------------------------------------------------------------------------------

namespace detail {

template <class Req, class Resp>
class StreamReactor final : public ::grpc::ServerBidiReactor<Req, Resp> {
 public:
  StreamReactor(const MethodSlot* slot, ::grpc::CallbackServerContext* call,
                const Service::StreamFactory<Req, Resp>& factory)
      : call_(call) {
    Status st = obs_.begin(slot->stats, call, call->client_metadata());
    if (st.ok()) {
      st = guarded(slot->stats, obs_.context(), [&] {
        handler_ = factory(obs_.context());
        if (!handler_) return Status(Code::kInternal, "the stream factory made no handler");
        handler_->reactor_ = this;
        handler_->on_start();
        return Status();
      });
    }
    if (!st.ok()) finish(st);
  }

  void read() { this->StartRead(&in_); }
  void write(const Resp& m, bool last) {
    obs_.sent();
    if (!last) return this->StartWrite(&m);
    if (finished_.exchange(true)) return;
    this->StartWriteAndFinish(&m, ::grpc::WriteOptions(), ::grpc::Status::OK);
  }
  void finish(const Status& st) {
    if (finished_.exchange(true)) return;
    status_ = to_grpc(st);
    this->Finish(status_);
  }
  const Context& context() { return obs_.context(); }

  void OnReadDone(bool ok) override {
    if (ok) obs_.received();
    run([&] { ok ? handler_->on_message(in_) : handler_->on_read_end(); });
  }
  void OnWriteDone(bool ok) override {
    run([&] { handler_->on_write_done(ok); });
  }
  void OnCancel() override {
    run([&] { handler_->on_cancel(); });
  }
  // Observed here, when every operation has completed: a stream the client cancelled may still have
  // been finished OK by a handler that saw only the end of its reads.
  void OnDone() override {
    obs_.finish(call_->IsCancelled() ? obs_.cancelled_status() : status_);
    if (handler_) run([&] { handler_->on_done(); });
    delete this;
  }

 private:
  template <class Fn>
  void run(Fn&& fn) {
    if (!handler_) return;
    Status st = guarded(obs_.method(), obs_.context(), [&] {
      fn();
      return Status();
    });
    if (!st.ok()) finish(st);
  }

  ::grpc::CallbackServerContext* call_;
  CallObservation obs_;
  std::unique_ptr<ServerStream<Req, Resp>> handler_;
  Req in_;
  std::atomic<bool> finished_{false};
  ::grpc::Status status_;  // what finish() sent
};

template <class Req, class Resp>
class AsyncUnary final : public UnaryResponder<Resp>::Call {
 public:
  // `reactor`: the call's DefaultReactor(), asked for once (each call of it constructs it anew).
  AsyncUnary(::grpc::ServerUnaryReactor* reactor, Resp* out) : reactor_(reactor), out_(out) {}
  CallObservation& observation() { return obs_; }
  UnaryResponder<Resp> responder() { return UnaryResponder<Resp>(this); }
  Resp& response() override { return *out_; }
  const Context& context() override { return obs_.context(); }
  void finish(const Status& st) override {
    ::grpc::Status gs = to_grpc(st);
    if (gs.ok()) obs_.sent();  // as go-grpc-prometheus counts a unary call's one message each way
    obs_.finish(gs);
    auto* reactor = reactor_;
    delete this;  // before Finish: the call (and its arena) may be gone once Finish returns
    reactor->Finish(gs);
  }
  void finish_threw(const char* what) override { finish(handler_threw(obs_.method(), obs_.context(), what)); }

 private:
  ::grpc::ServerUnaryReactor* reactor_;
  Resp* out_;
  CallObservation obs_;
};

}  // namespace detail

template <class Req, class Resp>
const Context& ServerStream<Req, Resp>::context() const {
  return reactor_->context();
}
template <class Req, class Resp>
void ServerStream<Req, Resp>::read() {
  reactor_->read();
}
template <class Req, class Resp>
void ServerStream<Req, Resp>::write(const Resp& m) {
  reactor_->write(m, false);
}
template <class Req, class Resp>
void ServerStream<Req, Resp>::write_last(const Resp& m) {
  reactor_->write(m, true);
}
template <class Req, class Resp>
void ServerStream<Req, Resp>::finish(const Status& status) {
  reactor_->finish(status);
}

template <class Resp>
const Context& UnaryResponder<Resp>::context() const {
  return call_->context();
}
template <class Resp>
Resp& UnaryResponder<Resp>::response() {
  return call_->response();
}
template <class Resp>
void UnaryResponder<Resp>::finish(const Status& status) {
  if (call_) std::exchange(call_, nullptr)->finish(status);
}
template <class Resp>
void UnaryResponder<Resp>::finish_threw(const char* what) {
  if (call_) std::exchange(call_, nullptr)->finish_threw(what);
}

namespace detail {
// One unary_task call, spawned on a loop. Parameters live in the coroutine frame; the handler's task
// is named before it is awaited (GCC 12 mis-destroys temporaries inside co_await expressions).
template <class Req, class Resp>
Task<void> run_unary_task(const Service::TaskFn<Req, Resp>* fn, const Req* in, UnaryResponder<Resp> r) {
  try {
    Task<Result<Resp>> task = (*fn)(r.context(), *in);
    Result<Resp> result = co_await std::move(task);
    if (!result) {
      r.finish(result.error());
      co_return;
    }
    r.response() = std::move(*result);
    r.finish(Status());
  } catch (const std::exception& e) {
    r.finish_threw(e.what());
  } catch (...) {
    r.finish_threw("unknown exception");
  }
}
}  // namespace detail

template <class Req, class Resp>
Service& Service::unary_task(std::string_view method, Runtime& runtime, TaskFn<Req, Resp> fn) {
  auto shared = std::make_shared<TaskFn<Req, Resp>>(std::move(fn));
  return unary_async<Req, Resp>(method, [&runtime, shared](const Req& in, UnaryResponder<Resp> r) {
    if (!runtime.running()) return r.finish(Status(Code::kUnavailable, "shutting down"));
    runtime.spawn(detail::run_unary_task<Req, Resp>(shared.get(), &in, std::move(r)));
  });
}

template <class Req, class Resp>
Service& Service::unary(std::string_view method, UnaryFn<Req, Resp> fn) {
  detail::MethodSlot* slot = add_method(method, false, Req::descriptor(), Resp::descriptor());
  MarkMethodCallback(slot->index, new ::grpc::internal::CallbackUnaryHandler<Req, Resp>(
                                      [slot, fn = std::move(fn)](::grpc::CallbackServerContext* call, const Req* in,
                                                                 Resp* out) -> ::grpc::ServerUnaryReactor* {
                                        detail::CallObservation obs;
                                        Status st = obs.begin(slot->stats, call, call->client_metadata());
                                        obs.received();
                                        if (st.ok())
                                          st = detail::guarded(slot->stats, obs.context(),
                                                               [&] { return fn(obs.context(), *in, *out); });
                                        ::grpc::Status gs = to_grpc(st);
                                        if (gs.ok()) obs.sent();
                                        obs.finish(gs);
                                        auto* reactor = call->DefaultReactor();
                                        reactor->Finish(gs);
                                        return reactor;
                                      }));
  return *this;
}

template <class Req, class Resp>
Service& Service::unary_async(std::string_view method, AsyncUnaryFn<Req, Resp> fn) {
  detail::MethodSlot* slot = add_method(method, false, Req::descriptor(), Resp::descriptor());
  MarkMethodCallback(slot->index, new ::grpc::internal::CallbackUnaryHandler<Req, Resp>(
                                      [slot, fn = std::move(fn)](::grpc::CallbackServerContext* call, const Req* in,
                                                                 Resp* out) -> ::grpc::ServerUnaryReactor* {
                                        auto* reactor = call->DefaultReactor();
                                        auto* c = new detail::AsyncUnary<Req, Resp>(reactor, out);
                                        Status st = c->observation().begin(slot->stats, call, call->client_metadata());
                                        c->observation().received();
                                        if (!st.ok()) {
                                          c->finish(st);
                                          return reactor;
                                        }
                                        // A throw is logged here; the responder, destroyed unanswered
                                        // on the way out, answers INTERNAL (unless the handler moved
                                        // it elsewhere first: then it answers from there).
                                        Context ctx = c->context();  // c may be gone when it throws
                                        (void)detail::guarded(slot->stats, ctx, [&] {
                                          fn(*in, c->responder());
                                          return Status();
                                        });
                                        return reactor;
                                      }));
  return *this;
}

template <class Req, class Resp>
Service& Service::stream(std::string_view method, StreamFactory<Req, Resp> factory) {
  detail::MethodSlot* slot = add_method(method, true, Req::descriptor(), Resp::descriptor());
  MarkMethodCallback(slot->index,
                     new ::grpc::internal::CallbackBidiHandler<Req, Resp>(
                         [slot, factory = std::move(factory)](
                             ::grpc::CallbackServerContext* call) -> ::grpc::ServerBidiReactor<Req, Resp>* {
                           return new detail::StreamReactor<Req, Resp>(slot, call, factory);
                         }));
  return *this;
}

namespace detail {

// stream_task's call state, shared by grpc++'s handler object (deleted by grpc++ after on_done) and
// the coroutine (which may outlive it by a few steps): grpc++'s completions, on its callback threads,
// wake the coroutine on its loop through Notifiers; once the call is done, reads and writes fail
// without touching the handler.
template <class Req, class Resp>
class TaskStreamState final : public Stream<Req, Resp> {
 public:
  const Context& context() const override { return ctx_; }
  Task<std::optional<Req>> read() override {
    {
      std::lock_guard lock(mu_);
      if (!handler_ || ended_ || read_ended_) co_return std::nullopt;
      handler_->start_read();
    }
    co_await read_ready_.wait();
    if (!got_) read_ended_ = true;
    co_return std::exchange(got_, std::nullopt);
  }
  Task<Status> write(const Resp& m) override {
    std::vector<Resp> one;
    one.push_back(m);
    Task<Status> sending = write_all(std::move(one));  // named: see docs/architecture.md (GCC 12)
    co_return co_await std::move(sending);
  }
  Task<Status> write_all(std::vector<Resp> messages) override {
    if (messages.empty()) co_return Status();
    {
      std::lock_guard lock(mu_);
      if (!handler_ || ended_ || write_failed_) co_return gone();
      batch_ = std::move(messages);  // grpc++ reads each until its on_write_done
      next_ = 1;
      handler_->start_write(batch_[0]);
    }
    co_await write_ready_.wait();
    if (!write_ok_) {
      write_failed_ = true;
      co_return gone();
    }
    co_return Status();
  }
  // After Finish no read or write may start (grpc++ may already be freeing the call): ended_ stops
  // them, and the rest of a batch in flight.
  void finish(const Status& status) override {
    std::lock_guard lock(mu_);
    if (ended_) return;
    ended_ = true;
    if (handler_) handler_->end(status);
  }

 private:
  friend class TaskStream<Req, Resp>;
  Status gone() const {
    Status st = ctx_.err();
    return st.ok() ? Status(Code::kCancelled, "the call is gone") : st;
  }

  std::mutex mu_;                             // guards handler_ against on_done
  TaskStream<Req, Resp>* handler_ = nullptr;  // null once grpc++ is done with the call
  Context ctx_;
  Notifier read_ready_, write_ready_;
  std::optional<Req> got_;
  std::vector<Resp> batch_;  // being written; next_ is the next to start
  std::size_t next_ = 0;
  bool write_ok_ = false;
  bool read_ended_ = false;
  bool write_failed_ = false;
  bool ended_ = false;  // finish() called: under mu_
};

template <class Req, class Resp>
class TaskStream final : public ServerStream<Req, Resp> {
 public:
  using Fn = Service::StreamTaskFn<Req, Resp>;
  TaskStream(Runtime& runtime, std::shared_ptr<const Fn> fn)
      : runtime_(runtime), fn_(std::move(fn)), state_(std::make_shared<TaskStreamState<Req, Resp>>()) {}

 private:
  friend class TaskStreamState<Req, Resp>;
  void start_read() { ServerStream<Req, Resp>::read(); }
  void start_write(const Resp& m) { ServerStream<Req, Resp>::write(m); }
  void end(const Status& st) { ServerStream<Req, Resp>::finish(st); }

  void on_start() override {
    if (!runtime_.running()) return this->finish(Status(Code::kUnavailable, "shutting down"));
    // A child the client's cancellation cancels at once: a handler waiting on something else (a query,
    // a timer) learns of it then, not at its next read or write.
    state_->ctx_ = this->context().with_cancel();
    state_->handler_ = this;
    runtime_.spawn(run(fn_, state_));
  }
  void on_message(Req& m) override {
    state_->got_ = std::move(m);
    state_->read_ready_.notify();
  }
  void on_read_end() override {
    state_->got_.reset();
    state_->read_ready_.notify();
  }
  void on_write_done(bool ok) override {
    auto& st = *state_;
    {
      std::lock_guard lock(st.mu_);
      if (ok && !st.ended_ && st.next_ < st.batch_.size()) {
        this->write(st.batch_[st.next_++]);  // the batch's next message, from grpc++'s thread
        return;
      }
      if (st.ended_) ok = false;
    }
    st.write_ok_ = ok;
    st.write_ready_.notify();
  }
  // grpc++ calls this for the deadline too: say which it was (within kDeadlineSkew of it).
  void on_cancel() override {
    Context& ctx = state_->ctx_;
    bool expired = ctx.deadline() && ctx.remaining() <= detail::kDeadlineSkew;
    ctx.cancel(expired ? Status(Code::kDeadlineExceeded, "deadline exceeded")
                       : Status(Code::kCancelled, "cancelled by the client"));
  }
  void on_done() override {
    std::lock_guard lock(state_->mu_);
    state_->handler_ = nullptr;
  }

  static Task<void> run(std::shared_ptr<const Fn> fn, std::shared_ptr<TaskStreamState<Req, Resp>> state) {
    Status st;
    try {
      Task<Status> task = (*fn)(*state);  // named: see unary_task
      st = co_await std::move(task);
    } catch (const std::exception& e) {
      st = Status(Code::kInternal, std::string("the stream handler threw: ") + e.what());
    } catch (...) {
      st = Status(Code::kInternal, "the stream handler threw");
    }
    state->finish(st);
  }

  Runtime& runtime_;
  std::shared_ptr<const Fn> fn_;
  std::shared_ptr<TaskStreamState<Req, Resp>> state_;
};

}  // namespace detail

template <class Req, class Resp>
Service& Service::stream_task(std::string_view method, Runtime& runtime, StreamTaskFn<Req, Resp> fn) {
  auto shared = std::make_shared<const StreamTaskFn<Req, Resp>>(std::move(fn));
  return stream<Req, Resp>(method, [&runtime, shared](Context&) {
    return std::make_unique<detail::TaskStream<Req, Resp>>(runtime, shared);
  });
}

template <class Req, class Resp>
Service& Service::server_stream_task(std::string_view method, Runtime& runtime, ServerStreamTaskFn<Req, Resp> fn) {
  auto shared = std::make_shared<const ServerStreamTaskFn<Req, Resp>>(std::move(fn));
  return stream_task<Req, Resp>(method, runtime, [shared](Stream<Req, Resp>& stream) -> Task<Status> {
    std::optional<Req> request = co_await stream.read();
    if (!request) co_return Status(Code::kInvalidArgument, "no request message");
    Task<Status> task = (*shared)(*request, stream);
    co_return co_await std::move(task);
  });
}

}  // namespace svckit::grpc
