#include "chat.hpp"

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>

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

class Session final : public grpc::ServerStream<ChatMessage, ChatMessage> {
 public:
  explicit Session(std::shared_ptr<Hub> hub) : hub_(std::move(hub)) {}

  // Queues a message for this client (called with the hub's lock held shared).
  void deliver(const ChatMessage& m) {
    std::lock_guard lock(mu_);
    if (finishing_) return;
    if (queue_.size() >= hub_->options.send_queue) {
      if (hub_->options.disconnect_slow) {
        hub_->slow_disconnects.inc();
        finish_locked(Status(Code::kResourceExhausted, "send queue full: the client is not reading fast enough"));
        return;
      }
      // Drop the oldest message that is not being written right now.
      queue_.erase(queue_.begin() + (writing_ ? 1 : 0));
      ++dropped_;
      hub_->dropped.inc();
    }
    queue_.push_back(m);
    if (!writing_) write_next_locked();
  }

  void end(Status st) {
    std::lock_guard lock(mu_);
    finish_locked(std::move(st));
  }

 private:
  // Known to the hub (and so to close_all) only once the stream can be finished.
  void on_start() override {
    hub_->add(this);
    read();
  }

  void on_message(ChatMessage& in) override {
    if (Status st = handle(in); !st.ok()) {
      leave_all();
      end(st);
      return;
    }
    read();
  }

  // The client closed its side, or the call was cancelled.
  void on_read_end() override {
    leave_all();
    std::lock_guard lock(mu_);
    reading_done_ = true;
    if (!writing_) finish_locked(Status());
  }

  void on_write_done(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!queue_.empty()) queue_.pop_front();
    if (!ok) {  // the stream is gone: nothing more can be written
      finishing_ = true;
      queue_.clear();
      finish(pending_status_ ? *pending_status_ : Status(Code::kCancelled, "stream closed"));
      return;
    }
    if (pending_status_) {
      queue_.clear();
      finish(*pending_status_);
      return;
    }
    if (dropped_ > 0 && !finishing_) {
      // The client is reading again: tell it, right where the gap is, how much it missed.
      ChatMessage notice;
      notice.set_kind(ChatMessage::KIND_NOTICE);
      notice.set_timestamp(now_ms());
      notice.set_content(std::to_string(dropped_) + " messages dropped: the client is reading too slowly");
      queue_.push_front(std::move(notice));
      dropped_ = 0;
    }
    if (!queue_.empty() && !finishing_) {
      write_next_locked();
    } else if (reading_done_) {
      finish_locked(Status());
    }
  }

  void on_cancel() override { leave_all(); }

  void on_done() override {
    leave_all();
    hub_->remove(this);  // waits for deliveries in progress: none can touch this afterwards
  }

  Status handle(const ChatMessage& m) {
    const Options& o = hub_->options;
    auto invalid = [](std::string why) { return Status(Code::kInvalidArgument, std::move(why)); };
    if (m.user_id().empty()) return invalid("user_id is required");
    if (m.user_id().size() > o.max_user_id) return invalid("user_id is longer than " + std::to_string(o.max_user_id));
    if (user_.empty()) user_ = m.user_id();
    if (m.user_id() != user_) return invalid("user_id changed within a stream");
    if (m.room().empty()) return invalid("room is required");
    switch (m.kind()) {
      case ChatMessage::KIND_JOIN: {
        {
          std::lock_guard lock(mu_);
          if (!joined_.insert(m.room()).second) return Status();
        }
        // Not under mu_: the JOIN broadcast is delivered to this session too.
        if (hub_->join(this, m.room(), user_)) return Status();
        std::lock_guard lock(mu_);
        joined_.erase(m.room());
        return invalid("unknown room '" + m.room() + "'");
      }
      case ChatMessage::KIND_LEAVE: {
        bool was;
        {
          std::lock_guard lock(mu_);
          was = joined_.erase(m.room()) > 0;
        }
        if (was) hub_->leave(this, m.room(), user_);
        return Status();
      }
      case ChatMessage::KIND_MESSAGE: {
        if (!hub_->rooms.count(m.room())) return invalid("unknown room '" + m.room() + "'");
        bool member;
        {
          std::lock_guard lock(mu_);
          member = joined_.count(m.room()) > 0;
        }
        if (!member) return Status(Code::kFailedPrecondition, "join room '" + m.room() + "' first");
        if (m.content().empty()) return invalid("content is empty");
        if (m.content().size() > o.max_content)
          return invalid("content is longer than " + std::to_string(o.max_content) + " bytes");
        ChatMessage out;
        out.set_user_id(user_);
        out.set_room(m.room());
        out.set_content(m.content());
        out.set_kind(ChatMessage::KIND_MESSAGE);
        hub_->broadcast(m.room(), std::move(out));
        return Status();
      }
      default:
        return invalid("kind NOTICE is sent by the server only");
    }
  }

  void leave_all() {
    std::set<std::string> rooms;
    {
      std::lock_guard lock(mu_);
      rooms.swap(joined_);
    }
    for (auto& r : rooms) hub_->leave(this, r, user_);
  }

  void write_next_locked() {
    writing_ = true;
    write(queue_.front());
  }

  void finish_locked(Status st) {
    if (finishing_) return;
    finishing_ = true;
    if (writing_) {
      pending_status_ = std::move(st);  // after the write in flight
      return;
    }
    queue_.clear();
    finish(st);
  }

  std::shared_ptr<Hub> hub_;
  std::string user_;
  std::set<std::string> joined_;  // under mu_
  std::mutex mu_;
  std::deque<ChatMessage> queue_;  // front: the message being written
  bool writing_ = false;
  bool reading_done_ = false;
  bool finishing_ = false;  // no more deliveries (finish() itself ends the call once)
  std::optional<Status> pending_status_;
  std::uint64_t dropped_ = 0;
};

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

Service::Service(Options options, log::Logger logger, metrics::Registry& registry)
    : grpc::Service("svckit.chat.v1.ChatService"),
      hub_(std::make_shared<Hub>(std::move(options), std::move(logger), registry)) {
  // grpc.limits may cap new streams (rate) or open ones (max_in_flight): svckit refuses those
  // before this factory is asked for a session.
  stream<ChatMessage, ChatMessage>("BidirectionalChat",
                                   [hub = hub_](Context&) { return std::make_unique<Session>(hub); });
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
