#pragma once
// Internal, included at the end of service.hpp: the reactors through which grpc++'s callback API drives
// a svckit::grpc::Service's handlers, and the definitions of service.hpp's templates. They are
// instantiated in the user's code with the user's message types, so this header and the grpc++
// headers below reach the user's translation unit, and it is installed.
#include <grpcpp/impl/codegen/proto_utils.h>               // SerializationTraits for protobuf messages
#include <grpcpp/impl/codegen/server_callback_handlers.h>  // CallbackUnaryHandler, CallbackBidiHandler
#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "svckit/core/notifier.hpp"
#include "svckit/core/runtime.hpp"
#include "svckit/core/task.hpp"
#include "svckit/grpc/detail/call.hpp"
#include "svckit/grpc/grpc.hpp"
#include "svckit/grpc/service.hpp"

namespace svckit::grpc {

namespace detail {

template <class Req, class Resp>
class TaskStream;

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
