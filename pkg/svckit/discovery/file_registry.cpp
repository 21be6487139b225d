#include "svckit/discovery/file_registry.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "svckit/core/runtime.hpp"

namespace svckit::discovery {

namespace fs = std::filesystem;

namespace {

// What an instance's file holds: the instance and when its owner last vouched for it.
struct FileRecord {
  Instance instance;
  std::int64_t heartbeat_unix_ms = 0;
  std::int64_t ttl_ms = 0;
  static void json_schema(json::Schema<FileRecord>& s) {
    s.field("instance", &FileRecord::instance).required();
    s.field("heartbeat_unix_ms", &FileRecord::heartbeat_unix_ms).required();
    s.field("ttl_ms", &FileRecord::ttl_ms).required().range(1, std::int64_t{1} << 40);
  }
};

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A name that is one path component: no separator, not hidden (temporary files start with '.').
bool safe_name(std::string_view s) {
  if (s.empty() || s.size() > 200 || s.front() == '.') return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

void FileRegistryOptions::describe(config::Binder<FileRegistryOptions>& b) {
  b.field("dir", &FileRegistryOptions::dir).non_empty().doc("the shared folder (relative: to the service root)");
  b.field("ttl", &FileRegistryOptions::ttl)
      .range(std::chrono::milliseconds(200), std::chrono::milliseconds(600000))
      .doc("an instance without a heartbeat for this long is gone");
  b.field("heartbeat", &FileRegistryOptions::heartbeat)
      .range(std::chrono::milliseconds(50), std::chrono::milliseconds(300000))
      .doc("how often a registered instance's file is rewritten (well under ttl)");
  b.field("scan_interval", &FileRegistryOptions::scan_interval)
      .range(std::chrono::milliseconds(20), std::chrono::milliseconds(60000))
      .doc("how often watchers look for expired instances");
  b.validate([](const FileRegistryOptions& o) -> Status {
    if (o.heartbeat * 2 > o.ttl)
      return Status(Code::kInvalidArgument,
                    "heartbeat must be at most half the ttl, or a slow write expires the instance");
    return Status();
  });
}

struct FileRegistry::State {
  FileRegistryOptions options;
  fs::path root;
  int inotify_fd = -1;
  int wake_fd = -1;
  std::atomic<bool> stop{false};

  struct Watcher {
    std::string service;
    WatchFn fn;
    std::mutex mu;  // held while fn runs
    bool active = true;
    bool delivered = false;
    std::vector<Instance> last;
  };

  mutable std::mutex mu;
  // Held across a heartbeat's writes and across a removal, so that a heartbeat never puts back the
  // file of an instance that was just deregistered.
  std::mutex write_mu;
  std::map<std::string, Instance> registered;  // "service/id"
  std::vector<std::shared_ptr<Watcher>> watchers;
  std::map<int, std::string> watch_dirs;  // inotify descriptor → service
  std::set<std::string> watched;

  std::atomic<std::uint64_t> writes{0}, write_errors{0}, bad_files{0}, deliveries{0};
  std::atomic<std::uint64_t> tmp_seq{0};

  ~State() {
    if (inotify_fd >= 0) ::close(inotify_fd);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  fs::path file_of(const Instance& i) const { return root / i.name / (i.id + ".json"); }

  Status write(const Instance& i) {
    std::error_code ec;
    fs::path dir = root / i.name;
    fs::create_directories(dir, ec);
    FileRecord rec{i, unix_ms(), options.ttl.count()};
    std::string text = json::encode(rec);
    // Unique per write: a heartbeat and a registration of the same instance may write at once.
    fs::path tmp = dir / ("." + i.id + ".json.tmp." + std::to_string(::getpid()) + "." +
                          std::to_string(tmp_seq.fetch_add(1, std::memory_order_relaxed)));
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out << text;
      out.flush();
      if (!out) {
        write_errors.fetch_add(1, std::memory_order_relaxed);
        fs::remove(tmp, ec);
        return Status(Code::kUnavailable, "write " + tmp.string() + ": " + std::strerror(errno));
      }
    }
    fs::rename(tmp, file_of(i), ec);
    if (ec) {
      write_errors.fetch_add(1, std::memory_order_relaxed);
      fs::remove(tmp, ec);
      return Status(Code::kUnavailable, "rename into " + file_of(i).string() + ": " + ec.message());
    }
    writes.fetch_add(1, std::memory_order_relaxed);
    return Status();
  }

  std::vector<Instance> read(const std::string& service) {
    std::vector<Instance> out;
    std::error_code ec;
    fs::directory_iterator it(root / service, ec);
    if (ec) return out;
    const std::int64_t now = unix_ms();
    const auto file_now = fs::file_time_type::clock::now();
    for (const fs::directory_entry& e : it) {
      std::string name = e.path().filename().string();
      if (name.empty() || name.front() == '.' || e.path().extension() != ".json") {
        // A temporary file its writer died before renaming: gone after a minute.
        if (!name.empty() && name.front() == '.' && file_now - e.last_write_time(ec) > std::chrono::minutes(1))
          fs::remove(e.path(), ec);
        continue;
      }
      std::ifstream in(e.path(), std::ios::binary);
      if (!in) continue;  // removed between the listing and the open
      std::stringstream text;
      text << in.rdbuf();
      auto rec = json::decode<FileRecord>(text.str());
      if (!rec || rec->instance.name != service) {
        bad_files.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      // A heartbeat from the future (a clock ahead, a hostile file) counts as now.
      std::int64_t age = rec->heartbeat_unix_ms > now ? 0 : now - rec->heartbeat_unix_ms;
      if (age > rec->ttl_ms) {                                 // its owner stopped vouching for it
        if (age / 10 > rec->ttl_ms) fs::remove(e.path(), ec);  // long dead: tidy up
        continue;
      }
      out.push_back(std::move(rec->instance));
    }
    std::sort(out.begin(), out.end(), [](const Instance& a, const Instance& b) { return a.id < b.id; });
    return out;
  }

  // Hands `set` to the watcher unless it already has exactly that.
  void deliver(Watcher& w, const std::vector<Instance>& set) {
    std::lock_guard lock(w.mu);
    if (!w.active || (w.delivered && w.last == set)) return;
    w.last = set;
    w.delivered = true;
    deliveries.fetch_add(1, std::memory_order_relaxed);
    w.fn(set);
  }

  void follow(const std::string& service) {
    std::error_code ec;
    fs::create_directories(root / service, ec);
    std::lock_guard lock(mu);
    if (!watched.insert(service).second) return;
    int wd = ::inotify_add_watch(inotify_fd, (root / service).c_str(),
                                 IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE);
    if (wd >= 0) watch_dirs[wd] = service;  // without inotify, the scans still find every change
  }

  void run() {
    using std::chrono::steady_clock;
    auto next_heartbeat = steady_clock::now() + options.heartbeat;
    auto next_scan = steady_clock::now() + options.scan_interval;
    alignas(inotify_event) char buf[16 * 1024];
    while (!stop.load()) {
      auto now = steady_clock::now();
      auto until = std::min(next_heartbeat, next_scan);
      int timeout =
          until > now ? static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(until - now).count()) : 0;
      pollfd fds[2] = {{inotify_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
      ::poll(fds, 2, timeout);
      if (stop.load()) break;
      std::set<std::string> dirty;
      if (fds[1].revents & POLLIN) {
        std::uint64_t v;
        [[maybe_unused]] auto n = ::read(wake_fd, &v, sizeof v);
      }
      if (fds[0].revents & POLLIN) {
        ssize_t n = ::read(inotify_fd, buf, sizeof buf);
        std::lock_guard lock(mu);
        for (ssize_t off = 0; n > 0 && off < n;) {
          auto* ev = reinterpret_cast<inotify_event*>(buf + off);
          if (auto it = watch_dirs.find(ev->wd); it != watch_dirs.end()) dirty.insert(it->second);
          if (ev->mask & IN_Q_OVERFLOW) dirty.insert(watched.begin(), watched.end());
          off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        }
      }
      now = steady_clock::now();
      if (now >= next_heartbeat) {
        std::lock_guard writing(write_mu);
        std::vector<Instance> mine;
        {
          std::lock_guard lock(mu);
          for (const auto& [key, i] : registered) mine.push_back(i);
        }
        for (const Instance& i : mine) static_cast<void>(write(i));  // a failed write is counted, retried next beat
        next_heartbeat = now + options.heartbeat;
      }
      if (now >= next_scan) {
        std::lock_guard lock(mu);
        dirty.insert(watched.begin(), watched.end());
        next_scan = now + options.scan_interval;
      }
      for (const std::string& service : dirty) {
        std::vector<Instance> set = read(service);
        std::vector<std::shared_ptr<Watcher>> targets;
        {
          std::lock_guard lock(mu);
          for (const auto& w : watchers)
            if (w->service == service) targets.push_back(w);
        }
        for (const auto& w : targets) deliver(*w, set);
      }
    }
  }

  void wake() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }
};

namespace {
class FileWatch final : public Watch {
 public:
  FileWatch(std::shared_ptr<FileRegistry::State> s, std::shared_ptr<FileRegistry::State::Watcher> w)
      : state_(std::move(s)), watcher_(std::move(w)) {}
  ~FileWatch() override {
    {
      std::lock_guard lock(watcher_->mu);
      watcher_->active = false;
    }
    std::lock_guard lock(state_->mu);
    auto& ws = state_->watchers;
    ws.erase(std::remove(ws.begin(), ws.end(), watcher_), ws.end());
  }

 private:
  std::shared_ptr<FileRegistry::State> state_;
  std::shared_ptr<FileRegistry::State::Watcher> watcher_;
};
}  // namespace

FileRegistry::FileRegistry(FileRegistryOptions options)
    : options_(std::move(options)), state_(std::make_shared<State>()) {}

Result<std::shared_ptr<FileRegistry>> FileRegistry::open(FileRegistryOptions options) {
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec || !fs::is_directory(options.dir))
    return make_error(Code::kFailedPrecondition,
                      "discovery.file.dir \"" + options.dir + "\": " + (ec ? ec.message() : "not a folder"));
  if (::access(options.dir.c_str(), W_OK) != 0)
    return make_error(Code::kFailedPrecondition, "discovery.file.dir \"" + options.dir + "\" is not writable");
  std::shared_ptr<FileRegistry> r(new FileRegistry(options));
  State& s = *r->state_;
  s.options = options;
  s.root = options.dir;
  s.inotify_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  s.wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s.wake_fd < 0) return make_error(Code::kInternal, std::string("eventfd: ") + std::strerror(errno));
  r->thread_ = std::thread([state = r->state_] { state->run(); });
  return r;
}

FileRegistry::~FileRegistry() {
  state_->stop = true;
  state_->wake();
  if (thread_.joinable()) thread_.join();
}

Status FileRegistry::add(const Instance& instance) {
  if (Status st = validate(instance); !st.ok()) return st;
  if (!safe_name(instance.name) || !safe_name(instance.id))
    return Status(Code::kInvalidArgument, "instance \"" + instance.id + "\" of \"" + instance.name +
                                              "\": names and ids are letters, digits and -_.: (not starting with .)");
  std::lock_guard writing(state_->write_mu);
  if (Status st = state_->write(instance); !st.ok()) return st;
  std::lock_guard lock(state_->mu);
  state_->registered[instance.name + "/" + instance.id] = instance;
  return Status();
}

Status FileRegistry::remove(const Instance& instance) {
  std::lock_guard writing(state_->write_mu);
  {
    std::lock_guard lock(state_->mu);
    state_->registered.erase(instance.name + "/" + instance.id);
  }
  if (!safe_name(instance.name) || !safe_name(instance.id)) return Status();
  std::error_code ec;
  fs::remove(state_->file_of(instance), ec);
  if (ec) return Status(Code::kUnavailable, "remove " + state_->file_of(instance).string() + ": " + ec.message());
  return Status();
}

std::vector<Instance> FileRegistry::read(const std::string& service) {
  if (!safe_name(service)) return {};
  return state_->read(service);
}

std::vector<std::string> FileRegistry::service_names() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(state_->root, ec)) {
    std::string name = e.path().filename().string();
    if (e.is_directory(ec) && safe_name(name) && !state_->read(name).empty()) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Task<Result<std::vector<std::string>>> FileRegistry::services(const Context& ctx) {
  auto job = [this] { return service_names(); };
  co_return co_await run_blocking(ctx, job);
}

FileRegistryStats FileRegistry::stats() const {
  const State& s = *state_;
  return FileRegistryStats{s.writes.load(), s.write_errors.load(), s.bad_files.load(), s.deliveries.load()};
}

// The jobs are named lambdas, not temporaries inside the co_await: GCC 12 mis-destroys temporaries
// with non-trivial members there (docs/architecture.md).
Task<Status> FileRegistry::register_instance(const Context& ctx, const Instance& instance) {
  auto job = [this, instance] { return add(instance); };
  auto r = co_await run_blocking(ctx, job);
  co_return r ? *r : r.error();
}

Task<Status> FileRegistry::deregister(const Context& ctx, const Instance& instance) {
  auto job = [this, instance] { return remove(instance); };
  auto r = co_await run_blocking(ctx, job);
  co_return r ? *r : r.error();
}

Task<Result<std::vector<Instance>>> FileRegistry::instances(const Context& ctx, std::string service) {
  auto job = [this, service] { return read(service); };
  co_return co_await run_blocking(ctx, job);
}

std::unique_ptr<Watch> FileRegistry::watch(std::string service, WatchFn fn) {
  auto w = std::make_shared<State::Watcher>();
  w->service = service;
  w->fn = std::move(fn);
  if (safe_name(service)) state_->follow(service);
  {
    std::lock_guard lock(state_->mu);
    state_->watchers.push_back(w);
  }
  state_->deliver(*w, safe_name(service) ? state_->read(service) : std::vector<Instance>{});
  return std::make_unique<FileWatch>(state_, w);
}

}  // namespace svckit::discovery
