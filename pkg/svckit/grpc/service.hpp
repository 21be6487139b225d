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
#include <grpcpp/impl/service_type.h>  // the base class of Service

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "svckit/core/context.hpp"
#include "svckit/core/status.hpp"
#include "svckit/core/task.hpp"
#include "svckit/grpc/detail/call.hpp"  // MethodSlot, the entries of a Service's method table

namespace google::protobuf {
class Descriptor;
}

namespace svckit {
class Runtime;
}

namespace svckit::grpc {

namespace detail {
template <class Req, class Resp>
class StreamReactor;
template <class Req, class Resp>
class AsyncUnary;
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

}  // namespace svckit::grpc

// The handlers' machinery: grpc++'s callback reactors that drive them, and the definitions of the
// templates above.
#include "svckit/grpc/detail/reactors.hpp"  // IWYU pragma: export
