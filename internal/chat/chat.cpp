#include "chat.hpp"

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>

#include "svckit/auth/principal.hpp"
#include "svckit/core/notifier.hpp"
#include "svckit/core/runtime.hpp"

namespace svckit::chat {

using v1::ChatMessage;

namespace {
std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

class Session;

class Hub {
 public:
  Hub(Options o, log::Logger logger, metrics::Registry& r)
      : options(std::move(o)),
        logger(std::move(logger)),
        messages(r.counter_vec({.name = "chat_messages_total", .help = "Chat messages accepted, by room."}, {"room"})),
        dropped(r.counter({.name = "chat_messages_dropped_total", .help = "Messages dropped for slow consumers."})),
        slow_disconnects(r.counter({.name = "chat_slow_consumer_disconnects_total",
                                    .help = "Streams ended because their client could not keep up."})),
        streams_gauge(r.gauge({.name = "chat_streams", .help = "Open chat streams."})) {
    for (auto& room : options.rooms) rooms[room];
  }

  // Adds `s` to room and broadcasts JOIN; false for an unknown room.
  bool join(Session* s, const std::string& room, const std::string& user);
  void leave(Session* s, const std::string& room, const std::string& user);
  // Tells the room that user joined or left.
  void announce(ChatMessage::Kind kind, const std::string& room, const std::string& user, std::string_view what);
  void broadcast(const std::string& room, ChatMessage msg);
  void add(Session* s) {
    std::unique_lock lock(mu);
    all.insert(s);
    streams_gauge.inc();
  }
  void remove(Session* s);
  void close_all();

  Options options;
  log::Logger logger;
  metrics::CounterVec& messages;
  metrics::Counter dropped, slow_disconnects;
  metrics::Gauge streams_gauge;
  mutable std::shared_mutex mu;  // rooms and all; held shared while delivering, so sessions outlive it
  std::map<std::string, std::set<Session*>> rooms;
  std::set<Session*> all;
  std::map<std::string, std::uint64_t> next_id;
  std::mutex id_mu;
};

// One stream's state: the rooms it joined and its bounded send queue. The stream itself is two
// coroutines (run_session): the handler reads and handles messages, a writer sends the queue.
class Session {
 public:
  explicit Session(std::shared_ptr<Hub> hub) : hub_(std::move(hub)) {}

  // Queues a message for this client (called with the hub's lock held shared, from any thread).
  void deliver(const ChatMessage& m) {
    std::lock_guard lock(mu_);
    if (ended_) return;
    if (queue_.size() >= hub_->options.send_queue) {
      if (hub_->options.disconnect_slow) {
        hub_->slow_disconnects.inc();
        end_locked(Status(Code::kResourceExhausted, "send queue full: the client is not reading fast enough"));
        return;
      }
      queue_.pop_front();  // the oldest; the one being written has left the queue already
      ++dropped_;
      hub_->dropped.inc();
    }
    queue_.push_back(m);
    wake_.notify();
  }

  // Ends the stream now with st (server stopping, slow consumer): queued messages are dropped.
  void end(Status st) {
    std::lock_guard lock(mu_);
    end_locked(std::move(st));
  }
  // The client is done sending: what is queued still goes out, then the stream ends OK.
  void drain() {
    std::lock_guard lock(mu_);
    draining_ = true;
    wake_.notify();
  }

  // The writer's loop: hands what is queued to the stream in one batch (each message written as soon
  // as the one before has gone, without a trip through the loop between them) until the stream ends.
  // Messages in a batch have left the queue, so a client can have up to two queues' worth pending.
  Task<void> send_loop(grpc::Stream<ChatMessage, ChatMessage>& stream) {
    for (;;) {
      std::vector<ChatMessage> batch;
      {
        std::lock_guard lock(mu_);
        if (ended_) break;
        if (dropped_ > 0) {
          // The client is reading again: tell it, right where the gap is, how much it missed.
          ChatMessage& notice = batch.emplace_back();
          notice.set_kind(ChatMessage::KIND_NOTICE);
          notice.set_timestamp(now_ms());
          notice.set_content(std::to_string(dropped_) + " messages dropped: the client is reading too slowly");
          dropped_ = 0;
        }
        for (auto& m : queue_) batch.push_back(std::move(m));
        queue_.clear();
        if (batch.empty() && draining_) {
          end_locked(Status());
          break;
        }
      }
      if (batch.empty()) {
        co_await wake_.wait();
        continue;
      }
      Task<Status> sending = stream.write_all(std::move(batch));  // named: see docs/architecture.md
      if (Status st = co_await std::move(sending); !st.ok()) {
        end(st);
        break;
      }
    }
    {
      std::lock_guard lock(mu_);
      stream.finish(*status_);  // a read in progress returns: the handler sees the end
    }
    writer_done_.notify();
  }
  Task<void> writer_done() { co_await writer_done_.wait(); }

  Status status() {
    std::lock_guard lock(mu_);
    return status_ ? *status_ : Status();
  }

  Status handle(const ChatMessage& m) {
    const Options& o = hub_->options;
    auto invalid = [](std::string why) { return Status(Code::kInvalidArgument, std::move(why)); };
    if (token_bound_) {
      // The verified token says who this is; a client may omit user_id but not claim another.
      if (!m.user_id().empty() && m.user_id() != user_)
        return Status(Code::kPermissionDenied, "USER_MISMATCH",
                      "user_id '" + m.user_id() + "' is not the token's subject '" + user_ + "'");
    } else {
      if (m.user_id().empty()) return invalid("user_id is required");
      if (m.user_id().size() > o.max_user_id) return invalid("user_id is longer than " + std::to_string(o.max_user_id));
      if (user_.empty()) user_ = m.user_id();
      if (m.user_id() != user_) return invalid("user_id changed within a stream");
    }
    const bool defaulted = m.room().empty() && !o.default_room.empty() && m.kind() == ChatMessage::KIND_MESSAGE;
    if (m.room().empty() && !defaulted) return invalid("room is required");
    const std::string& room = defaulted ? o.default_room : m.room();
    if (defaulted && !joined_.count(room)) {
      // The bare contract has no JOIN: the first message joins the default room.
      joined_.insert(room);
      if (!hub_->join(this, room, user_)) {
        joined_.erase(room);
        return invalid("unknown room '" + room + "'");
      }
    }
    switch (m.kind()) {
      case ChatMessage::KIND_JOIN: {
        if (!joined_.insert(m.room()).second) return Status();
        // The JOIN broadcast reaches this stream too: the client sees its own join.
        if (hub_->join(this, m.room(), user_)) return Status();
        joined_.erase(m.room());
        return invalid("unknown room '" + m.room() + "'");
      }
      case ChatMessage::KIND_LEAVE: {
        if (joined_.erase(m.room()) > 0) hub_->leave(this, m.room(), user_);
        return Status();
      }
      case ChatMessage::KIND_MESSAGE: {
        if (!hub_->rooms.count(room)) return invalid("unknown room '" + room + "'");
        if (!joined_.count(room)) return Status(Code::kFailedPrecondition, "join room '" + room + "' first");
        if (m.content().empty()) return invalid("content is empty");
        if (m.content().size() > o.max_content)
          return invalid("content is longer than " + std::to_string(o.max_content) + " bytes");
        ChatMessage out;
        out.set_user_id(user_);
        out.set_room(room);
        out.set_content(m.content());
        out.set_kind(ChatMessage::KIND_MESSAGE);
        hub_->broadcast(room, std::move(out));
        return Status();
      }
      default:
        return invalid("kind NOTICE is sent by the server only");
    }
  }

  // Only the handler coroutine touches joined_ and user_.
  void leave_all() {
    for (auto& r : joined_) hub_->leave(this, r, user_);
    joined_.clear();
  }

 private:
  void end_locked(Status st) {
    if (ended_) return;
    ended_ = true;
    status_ = std::move(st);
    queue_.clear();
    wake_.notify();
    // Ends the call now: a writer stalled on a client that stopped reading (the slow consumer this
    // exists for) and a reader waiting for the client's next message both return.
    if (stream_) stream_->finish(*status_);
  }

  std::shared_ptr<Hub> hub_;
  std::string user_;
  bool token_bound_ = false;
  std::set<std::string> joined_;
  std::mutex mu_;  // the queue and the end
  std::deque<ChatMessage> queue_;
  std::uint64_t dropped_ = 0;
  bool draining_ = false;
  bool ended_ = false;
  std::optional<Status> status_;
  Notifier wake_, writer_done_;
  grpc::Stream<ChatMessage, ChatMessage>* stream_ = nullptr;  // set before the writer starts

 public:
  void attach(grpc::Stream<ChatMessage, ChatMessage>& stream) { stream_ = &stream; }
  // The stream's caller was authenticated (a verified bearer token): its subject is the user.
  void bind_user(std::string subject) {
    user_ = std::move(subject);
    token_bound_ = true;
  }
};

namespace {

// One BidirectionalChat stream: this coroutine reads and handles the client's messages while a writer
// coroutine sends what the rooms deliver; the stream ends when the client is done (after the queue is
// sent), on a bad message, when the call is gone, or when the server ends it (close_all, slow
// consumer).
Task<Status> run_session(std::shared_ptr<Hub> hub, grpc::Stream<ChatMessage, ChatMessage>& stream) {
  auto session = std::make_shared<Session>(hub);
  session->attach(stream);
  if (const auth::Principal* who = auth::principal_of(stream.context())) session->bind_user(who->subject);
  hub->add(session.get());  // from now on close_all reaches it
  Loop::current()->spawn(session->send_loop(stream));
  for (;;) {
    std::optional<ChatMessage> m = co_await stream.read();
    if (!m) {
      session->drain();  // the client is done, or the call is gone (then the writer fails and ends)
      break;
    }
    if (Status st = session->handle(*m); !st.ok()) {
      session->end(st);
      break;
    }
  }
  session->leave_all();
  co_await session->writer_done();
  hub->remove(session.get());  // waits for deliveries in progress: none can touch it afterwards
  co_return session->status();
}

}  // namespace

bool Hub::join(Session* s, const std::string& room, const std::string& user) {
  {
    std::unique_lock lock(mu);
    auto it = rooms.find(room);
    if (it == rooms.end()) return false;
    it->second.insert(s);
  }
  announce(ChatMessage::KIND_JOIN, room, user, " joined");
  return true;
}

void Hub::leave(Session* s, const std::string& room, const std::string& user) {
  {
    std::unique_lock lock(mu);
    auto it = rooms.find(room);
    if (it == rooms.end() || !it->second.erase(s)) return;
  }
  announce(ChatMessage::KIND_LEAVE, room, user, " left");
}

void Hub::announce(ChatMessage::Kind kind, const std::string& room, const std::string& user, std::string_view what) {
  ChatMessage m;
  m.set_kind(kind);
  m.set_user_id(user);
  m.set_room(room);
  m.set_content(user + std::string(what));
  broadcast(room, std::move(m));
}

void Hub::broadcast(const std::string& room, ChatMessage msg) {
  std::shared_lock lock(mu);
  auto it = rooms.find(room);
  if (it == rooms.end()) return;
  {
    std::lock_guard ids(id_mu);  // ids and timestamps in the order of delivery
    msg.set_id(++next_id[room]);
    msg.set_timestamp(now_ms());
    for (Session* s : it->second) s->deliver(msg);
  }
  if (msg.kind() == ChatMessage::KIND_MESSAGE) messages.with({room}).inc();
}

void Hub::remove(Session* s) {
  std::unique_lock lock(mu);
  for (auto& [name, members] : rooms) members.erase(s);
  if (all.erase(s)) streams_gauge.dec();
}

void Hub::close_all() {
  std::shared_lock lock(mu);
  for (Session* s : all) s->end(Status(Code::kUnavailable, "server shutting down"));
}

Service::Service(Runtime& runtime, Options options, log::Logger logger, metrics::Registry& registry)
    : grpc::Service("svckit.chat.v1.ChatService"),
      hub_(std::make_shared<Hub>(std::move(options), std::move(logger), registry)) {
  // grpc.limits may cap new streams (rate) or open ones (max_in_flight): svckit refuses those
  // before this factory is asked for a session.
  stream_task<ChatMessage, ChatMessage>(
      "BidirectionalChat", runtime,
      [hub = hub_](grpc::Stream<ChatMessage, ChatMessage>& stream) { return run_session(hub, stream); });
}

Service::~Service() = default;

void Service::close_all() {
  hub_->close_all();
}

std::size_t Service::streams() const {
  std::shared_lock lock(hub_->mu);
  return hub_->all.size();
}

}  // namespace svckit::chat
