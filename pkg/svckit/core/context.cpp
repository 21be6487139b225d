#include "svckit/core/context.hpp"

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <new>

#include "svckit/core/detail/pool_allocator.hpp"

namespace svckit::detail {

// One on_cancel registration: a callback, or a target held weakly with a function to call on it
// (on_cancel_of; a child scope's link to its parent). A weak_ptr captured in a std::function would not
// fit its inline buffer: a scope or a connection watched per call would cost an allocation.
struct CancelEntry {
  std::uint64_t id;
  std::function<void(const Status&)> fn;
  std::weak_ptr<void> target;
  void (*target_fn)(const std::shared_ptr<void>&, const Status&) = nullptr;
};

// Shared by a context and the children that do not open a new cancellation scope.
struct CancelState {
  std::mutex mu;
  // Set (under mu, after reason) once cancelled; read without the lock by done() and err(), which a
  // request asks several times and which then need no lock while nothing was cancelled.
  std::atomic<bool> cancelled{false};
  Status reason;
  std::uint64_t next_id = 1;
  // From the per-thread pools, as the scope itself: a request's scopes hold a registration or two.
  std::vector<CancelEntry, PoolAllocator<CancelEntry>> callbacks;
  // Our registration in the parent's state, so that a parent's cancel reaches us.
  CancelRegistration parent_link;
  std::optional<Clock::time_point> deadline;

  bool is_cancelled() const noexcept { return cancelled.load(std::memory_order_acquire); }

  void cancel(const Status& why) {
    std::vector<CancelEntry, PoolAllocator<CancelEntry>> run;
    {
      std::lock_guard lock(mu);
      if (cancelled.load(std::memory_order_relaxed)) return;
      reason = why;
      cancelled.store(true, std::memory_order_release);
      run.swap(callbacks);
    }
    for (auto& e : run) {
      if (e.fn) {
        e.fn(why);
      } else if (auto t = e.target.lock()) {
        e.target_fn(t, why);
      }
    }
  }
};

struct ContextNode {
  // Values up to this size live in the node: a request's span context or baggage costs no allocation
  // of its own.
  static constexpr std::size_t kInline = 80;

  ContextNode() = default;
  ContextNode(const ContextNode&) = delete;
  ContextNode& operator=(const ContextNode&) = delete;
  ~ContextNode() {
    if (!value) return;
    ops->destroy(value);
    if (value != inline_value) ::operator delete(value, std::align_val_t(ops->align));
  }
  void set_value(const void* key, void* from, const ValueOps* o) {
    bool inline_fits = o->size <= kInline && o->align <= alignof(std::max_align_t);
    void* to = inline_fits ? static_cast<void*>(inline_value) : ::operator new(o->size, std::align_val_t(o->align));
    try {
      o->relocate(to, from);
    } catch (...) {
      if (!inline_fits) ::operator delete(to, std::align_val_t(o->align));
      throw;
    }
    value_key = key;
    value = to;
    ops = o;
  }

  std::shared_ptr<const ContextNode> parent;
  std::shared_ptr<CancelState> cancel;  // null: never cancelled (background)
  // One kind of payload per node.
  const void* value_key = nullptr;
  void* value = nullptr;
  const ValueOps* ops = nullptr;
  std::string meta_key;
  std::string meta_value;
  bool has_meta = false;
  // This node's own field (with_log_field); a child never copies its parent's (for_each_log_field
  // walks up).
  Context::LogField log_field;
  bool has_log_field = false;
  alignas(std::max_align_t) unsigned char inline_value[kInline];
};

}  // namespace svckit::detail

namespace svckit {

using detail::CancelState;
using detail::ContextNode;

namespace {
std::shared_ptr<const ContextNode> background_node() {
  static const auto node = std::make_shared<const ContextNode>();
  return node;
}

// A request makes and drops a handful of nodes and a cancellation scope or two: they come from the
// per-thread free lists, with their control blocks.
std::shared_ptr<ContextNode> new_node() {
  return std::allocate_shared<ContextNode>(detail::PoolAllocator<ContextNode>());
}
}  // namespace

CancelRegistration::CancelRegistration(CancelRegistration&& other) noexcept
    : state_(std::move(other.state_)), id_(std::exchange(other.id_, 0)) {}

CancelRegistration& CancelRegistration::operator=(CancelRegistration&& other) noexcept {
  if (this != &other) {
    reset();
    state_ = std::move(other.state_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

CancelRegistration::~CancelRegistration() {
  reset();
}

void CancelRegistration::reset() {
  if (id_ == 0) return;
  if (auto state = state_.lock()) {
    std::lock_guard lock(state->mu);
    auto& cbs = state->callbacks;
    cbs.erase(std::remove_if(cbs.begin(), cbs.end(), [&](auto& e) { return e.id == id_; }), cbs.end());
  }
  id_ = 0;
  state_.reset();
}

Context::Context() : node_(background_node()) {}

Context Context::with_new_cancel_scope(std::optional<Clock::time_point> deadline) const {
  auto node = new_node();
  node->parent = node_;
  auto state = std::allocate_shared<CancelState>(detail::PoolAllocator<CancelState>());
  auto parent_deadline = this->deadline();
  if (parent_deadline && (!deadline || *parent_deadline < *deadline)) deadline = parent_deadline;
  state->deadline = deadline;
  if (node_->cancel) {
    state->parent_link = on_cancel_target(state, [](const std::shared_ptr<void>& child, const Status& why) {
      static_cast<CancelState*>(child.get())->cancel(why);
    });
  }
  node->cancel = std::move(state);
  return Context(std::move(node));
}

Context Context::with_cancel() const {
  return with_new_cancel_scope(std::nullopt);
}
Context Context::with_deadline(Clock::time_point d) const {
  return with_new_cancel_scope(d);
}
Context Context::with_timeout(Duration t) const {
  auto now = Clock::now();
  // Saturate rather than overflow for "forever"-like timeouts.
  auto d = t > Clock::time_point::max() - now ? Clock::time_point::max() : now + t;
  return with_new_cancel_scope(d);
}

Context Context::with_value_impl(const void* key, void* value, const detail::ValueOps* ops) const {
  auto node = new_node();
  node->parent = node_;
  node->cancel = node_->cancel;
  node->set_value(key, value, ops);
  return Context(std::move(node));
}

Context Context::with_metadata(std::string key, std::string value) const {
  auto node = new_node();
  node->parent = node_;
  node->cancel = node_->cancel;
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  node->meta_key = std::move(key);
  node->meta_value = std::move(value);
  node->has_meta = true;
  return Context(std::move(node));
}

Context Context::with_log_field(std::string key, std::string value) const {
  auto node = new_node();
  node->parent = node_;
  node->cancel = node_->cancel;
  node->log_field = {std::move(key), std::move(value)};
  node->has_log_field = true;
  return Context(std::move(node));
}

void Context::cancel(Status reason) const {
  if (!node_->cancel) return;  // background cannot be cancelled
  if (reason.ok()) reason = Status(Code::kCancelled, "context cancelled");
  node_->cancel->cancel(reason);
}

std::optional<Clock::time_point> Context::deadline() const noexcept {
  return node_->cancel ? node_->cancel->deadline : std::nullopt;
}

bool Context::done() const noexcept {
  auto& s = node_->cancel;
  if (!s) return false;
  if (s->deadline && Clock::now() >= *s->deadline) return true;
  return s->is_cancelled();
}

Status Context::err() const {
  auto& s = node_->cancel;
  if (!s) return {};
  if (s->is_cancelled()) {
    std::lock_guard lock(s->mu);
    return s->reason;
  }
  if (s->deadline && Clock::now() >= *s->deadline) return Status(Code::kDeadlineExceeded, "deadline exceeded");
  return {};
}

Duration Context::remaining() const noexcept {
  auto d = deadline();
  if (!d) return Duration::max();
  auto now = Clock::now();
  return *d > now ? std::chrono::duration_cast<Duration>(*d - now) : Duration::zero();
}

CancelRegistration Context::on_cancel(std::function<void(const Status&)> fn) const {
  auto& s = node_->cancel;
  if (!s) return {};
  Status already;
  {
    std::lock_guard lock(s->mu);
    if (!s->is_cancelled()) {
      auto id = s->next_id++;
      s->callbacks.push_back(detail::CancelEntry{id, std::move(fn), {}, nullptr});
      return CancelRegistration(s, id);
    }
    already = s->reason;
  }
  fn(already);
  return {};
}

CancelRegistration Context::on_cancel_target(std::weak_ptr<void> target,
                                             void (*fn)(const std::shared_ptr<void>&, const Status&)) const {
  auto& s = node_->cancel;
  if (!s) return {};
  Status already;
  {
    std::lock_guard lock(s->mu);
    if (!s->is_cancelled()) {
      auto id = s->next_id++;
      s->callbacks.push_back(detail::CancelEntry{id, nullptr, std::move(target), fn});
      return CancelRegistration(s, id);
    }
    already = s->reason;
  }
  if (auto t = target.lock()) fn(t, already);
  return {};
}

const void* Context::value_impl(const void* key) const noexcept {
  for (const ContextNode* n = node_.get(); n; n = n->parent.get())
    if (n->value_key == key) return n->value;
  return nullptr;
}

std::optional<std::string_view> Context::metadata(std::string_view key) const noexcept {
  for (const ContextNode* n = node_.get(); n; n = n->parent.get()) {
    if (!n->has_meta || n->meta_key.size() != key.size()) continue;
    bool eq = std::equal(key.begin(), key.end(), n->meta_key.begin(),
                         [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
    if (eq) return std::string_view(n->meta_value);
  }
  return std::nullopt;
}

std::vector<std::pair<std::string_view, std::string_view>> Context::all_metadata() const {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  for (const ContextNode* n = node_.get(); n; n = n->parent.get()) {
    if (!n->has_meta) continue;
    bool seen = std::any_of(out.begin(), out.end(), [&](auto& p) { return p.first == n->meta_key; });
    if (!seen) out.emplace_back(n->meta_key, n->meta_value);
  }
  return out;
}

namespace {
// Fixed storage for a walk's small case, left uninitialised (the logger walks for every line); past
// it, the heap.
template <class T, std::size_t N>
class WalkStorage {
 public:
  WalkStorage() = default;
  WalkStorage(const WalkStorage&) = delete;
  WalkStorage& operator=(const WalkStorage&) = delete;
  ~WalkStorage() {
    for (std::size_t i = 0; i < std::min(size_, N); ++i) std::destroy_at(&local()[i]);
  }
  template <class... Args>
  T& emplace_back(Args&&... args) {
    T* slot;
    void* where = size_ < N ? &raw_[size_ * sizeof(T)] : nullptr;
    if (!where) {
      heap_.push_back(std::unique_ptr<T>(static_cast<T*>(::operator new(sizeof(T)))));
      where = heap_.back().get();
    }
    if constexpr (sizeof...(Args) == 0)
      slot = ::new (where) T;  // default-initialised: a renderer's text buffer is not zeroed
    else
      slot = ::new (where) T{std::forward<Args>(args)...};
    ++size_;
    return *slot;
  }
  std::size_t size() const noexcept { return size_; }
  T& operator[](std::size_t i) noexcept { return i < N ? local()[i] : *heap_[i - N]; }

 private:
  T* local() noexcept { return std::launder(reinterpret_cast<T*>(raw_)); }
  alignas(T) unsigned char raw_[N * sizeof(T)];
  std::vector<std::unique_ptr<T>> heap_;
  std::size_t size_ = 0;
};

struct WalkField {
  std::string_view key, value;
  bool plain;
};

// Calls emit(key, value, plain) for one node's fields; a renderer writes into storage().
template <class Storage, class Emit>
void node_fields(const ContextNode* c, Storage&& storage, Emit&& emit) {
  if (c->ops && c->ops->render) {
    RenderedLogFields& r = storage();
    c->ops->render(c->value, r);
    for (std::size_t f = 0; f < std::min(r.size, RenderedLogFields::kMax); ++f)
      emit(r.fields[f].first, r.fields[f].second, r.plain);
  }
  if (c->has_log_field) emit(std::string_view(c->log_field.first), std::string_view(c->log_field.second), false);
}
}  // namespace

void Context::for_each_log_field_impl(void (*fn)(void*, std::string_view, std::string_view, bool), void* arg) const {
  // The nodes that carry fields, newest first. Requests stack a handful (span, request id).
  WalkStorage<const ContextNode*, 16> nodes;
  for (const ContextNode* c = node_.get(); c; c = c->parent.get())
    if (c->has_log_field || (c->ops && c->ops->render)) nodes.emplace_back(c);
  if (nodes.size() == 0) return;
  auto to_fn = [&](std::string_view k, std::string_view v, bool plain) { fn(arg, k, v, plain); };
  // One node has distinct keys (a with_log_field node holds one field, a renderer's keys are distinct):
  // nothing to merge, as for a request whose only fields are its span's ids.
  if (nodes.size() == 1) {
    RenderedLogFields r;
    node_fields(
        nodes[0], [&]() -> RenderedLogFields& { return r; }, to_fn);
    return;
  }

  // Every field, oldest first; rendered ones are rendered now, into storage that lives until the
  // walk ends.
  WalkStorage<WalkField, 16> fields;
  WalkStorage<RenderedLogFields, 2> rendered;
  for (std::size_t i = nodes.size(); i-- > 0;)
    node_fields(
        nodes[i], [&]() -> RenderedLogFields& { return rendered.emplace_back(); },
        [&](std::string_view k, std::string_view v, bool plain) { fields.emplace_back(k, v, plain); });
  // A key set again later keeps its first place and takes its newest value.
  const std::size_t count = fields.size();
  for (std::size_t i = 0; i < count; ++i) {
    const WalkField& f = fields[i];
    bool set_before = false;
    for (std::size_t o = 0; o < i && !set_before; ++o) set_before = fields[o].key == f.key;
    if (set_before) continue;
    const WalkField* newest = &f;
    for (std::size_t y = i + 1; y < count; ++y)
      if (fields[y].key == f.key) newest = &fields[y];
    to_fn(f.key, newest->value, newest->plain);
  }
}

std::vector<std::pair<std::string, std::string>> Context::log_fields() const {
  std::vector<std::pair<std::string, std::string>> out;
  for_each_log_field([&](std::string_view k, std::string_view v) { out.emplace_back(k, v); });
  return out;
}

namespace {
struct ProbeMark {};
}  // namespace

Context as_probe(const Context& ctx) {
  return is_probe(ctx) ? ctx : ctx.with_value(ProbeMark{});
}

bool is_probe(const Context& ctx) noexcept {
  return ctx.value<ProbeMark>() != nullptr;
}

}  // namespace svckit
