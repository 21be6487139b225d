#include "svckit/config/config.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "svckit/core/redact.hpp"

namespace svckit::config {

namespace fs = std::filesystem;

namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_config_file(const fs::path& p) {
  auto ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

// A later layer's list of maps (key.N.field) replaces an earlier one whole: merging item by item would
// leave base.yaml's third item behind a production file that lists two.
void merge(Layer& into, const Layer& from) {
  std::set<std::string, std::less<>> lists;  // "a.b." for keys a.b.N...
  for (auto& [k, v] : from) {
    for (std::size_t dot = k.find('.'); dot != std::string::npos; dot = k.find('.', dot + 1)) {
      std::size_t end = k.find('.', dot + 1);
      if (end != std::string::npos && detail::is_index(std::string_view(k).substr(dot + 1, end - dot - 1))) {
        lists.insert(k.substr(0, dot + 1));
        break;
      }
    }
  }
  for (const auto& prefix : lists) {
    into.erase(prefix.substr(0, prefix.size() - 1));  // an earlier `key: []`
    for (auto it = into.lower_bound(prefix); it != into.end() && it->first.starts_with(prefix);) {
      std::string_view rest = std::string_view(it->first).substr(prefix.size());
      if (detail::is_index(rest.substr(0, rest.find('.'))))
        it = into.erase(it);
      else
        ++it;
    }
  }
  // `key: []` empties whatever an earlier layer (or the defaults) put under key.
  for (auto& [k, v] : from) {
    if (!v.is_list || !v.items.empty()) continue;
    const std::string prefix = k + ".";
    for (auto it = into.lower_bound(prefix); it != into.end() && it->first.starts_with(prefix);) it = into.erase(it);
  }
  for (auto& [k, v] : from) into[k] = v;
}

}  // namespace

namespace {
// Whether `rest` ("0.password", "billing.tls.key": an item's index or name, then a key) names the
// item key `item_key` ("password", "tls.key"; "*" stands for one segment, a nested item's index or name).
bool item_key_matches(std::string_view rest, std::string_view item_key) {
  auto dot = rest.find('.');
  if (dot == std::string_view::npos) return false;
  rest.remove_prefix(dot + 1);
  while (true) {
    auto a = item_key.find('.'), b = rest.find('.');
    std::string_view want = item_key.substr(0, a), got = rest.substr(0, b);
    if (want != "*" && want != got) return false;
    if (a == std::string_view::npos || b == std::string_view::npos) return a == b;
    item_key.remove_prefix(a + 1);
    rest.remove_prefix(b + 1);
  }
}
}  // namespace

bool Snapshot::is_secret(std::string_view key) const {
  if (secrets.count(key)) return true;
  for (const auto& [list, item_key] : secret_items)
    if (key.starts_with(list) && item_key_matches(key.substr(list.size()), item_key)) return true;
  auto dot = key.rfind('.');
  std::string_view last = dot == std::string_view::npos ? key : key.substr(dot + 1);
  return ends_with(last, "password") || ends_with(last, "secret") || ends_with(last, "_key") || last == "key" ||
         ends_with(last, "token");
}

std::string Snapshot::print(bool redact) const {
  std::size_t width = 0;
  std::vector<std::pair<std::string, const Entry*>> rows;
  for (auto& [k, e] : values) {
    std::string shown = redact && is_secret(k) ? std::string(kRedacted) : (e.is_list ? "[" + e.value + "]" : e.value);
    if (redact) shown = redact_credentials(shown);  // a DSN or URL with a password inside
    std::string line = k + " = " + shown;
    width = std::max(width, line.size());
    rows.emplace_back(std::move(line), &e);
  }
  std::string out = "# effective configuration (env " + env + "); value  # source\n";
  for (auto& [line, e] : rows) {
    out += line;
    out.append(width - line.size() + 2, ' ');
    out += "# " + e->origin.to_string() + "\n";
  }
  return out;
}

// ---- Config --------------------------------------------------------------------------------------

struct Config::Impl {
  mutable std::mutex mu;
  std::shared_ptr<const Snapshot> current = std::make_shared<Snapshot>();
  std::vector<std::shared_ptr<Source>> sources;

  std::mutex subs_mu;
  std::uint64_t next_sub = 1;
  std::map<std::uint64_t, std::pair<std::string, std::function<void(const Snapshot&)>>> subs;

  std::mutex reload_mu;  // one reload at a time
  std::thread watcher;
  int stop_fd = -1;
};

Config::Config(ConfigOptions options) : impl_(std::make_shared<Impl>()), options_(std::move(options)) {
  env_ = options_.env;
  if (env_.empty()) {
    const char* e = std::getenv((options_.env_prefix + "_ENV").c_str());
    env_ = e && *e ? e : "dev";
  }
}

namespace {

// The folder of the running binary (empty when /proc is not there).
fs::path binary_dir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

Result<std::string> resolve_dir(const ConfigOptions& o) {
  auto absolute = [](const fs::path& p) {
    std::error_code ec;
    auto c = fs::weakly_canonical(fs::absolute(p), ec);
    return (ec ? fs::absolute(p) : c).string();
  };
  if (o.dir == "none") return std::string();
  const std::string env_var = o.env_prefix + "_CONFIG_DIR";
  const char* from_env = std::getenv(env_var.c_str());
  std::string named = !o.dir.empty() ? o.dir : (from_env && *from_env ? from_env : "");
  if (!named.empty()) {
    if (named == "none") return std::string();
    std::error_code ec;
    if (!fs::is_directory(named, ec))
      return make_error(Code::kInvalidArgument, "configuration folder \"" + named + "\" (" +
                                                    (o.dir.empty() ? "$" + env_var : "--config-dir") +
                                                    ") does not exist");
    return absolute(named);
  }
  std::vector<fs::path> searched = {fs::current_path() / "configs"};
  if (auto bin = binary_dir(); !bin.empty()) {
    fs::path d = bin;
    for (int up = 0; up <= 3; ++up, d = d.parent_path()) {
      searched.push_back(d / "configs");
      if (d == d.parent_path()) break;
    }
  }
  std::string list;
  for (auto& candidate : searched) {
    std::error_code ec;
    if (fs::is_directory(candidate, ec)) return absolute(candidate);
    list += (list.empty() ? "" : ", ") + candidate.string();
  }
  return make_error(Code::kNotFound, "no configuration folder found (searched " + list +
                                         "); name one with --config-dir DIR or $" + env_var +
                                         ", or run on defaults with --config-dir none");
}

}  // namespace

std::string Config::resolve(std::string_view path) const {
  fs::path p(path);
  if (p.is_absolute() || path.empty()) return std::string(path);
  fs::path base = dir_.empty() ? fs::current_path() : fs::path(dir_).parent_path();
  return (base / p).lexically_normal().string();
}

Config::~Config() {
  if (impl_->stop_fd >= 0) {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(impl_->stop_fd, &one, sizeof one);
    impl_->watcher.join();
    ::close(impl_->stop_fd);
  }
}

void Config::add_section(Section section) {
  sections_.push_back(std::move(section));
}

bool Config::defines(std::string_view prefix) const noexcept {
  for (const auto& s : sections_)
    if (s.prefix == prefix) return true;
  return false;
}

void Config::on_reload(std::function<void(const ReloadEvent&)> report) {
  std::lock_guard lock(impl_->reload_mu);  // reloads report under this lock
  report_ = std::move(report);
}

void Config::add_source(std::shared_ptr<Source> source) {
  impl_->sources.push_back(std::move(source));
}

std::shared_ptr<const Snapshot> Config::snapshot() const {
  std::lock_guard lock(impl_->mu);
  return impl_->current;
}

Result<std::shared_ptr<const Snapshot>> Config::build() const {
  auto snap = std::make_shared<Snapshot>();
  snap->env = env_;
  std::vector<std::string> errors;

  std::set<std::string, std::less<>> known;  // keys the program defines
  std::vector<std::string> known_trees;      // "prefix." of lists and maps: their binders check inside
  std::vector<std::pair<std::string, const std::vector<std::string>*>> tree_items;  // and their items' keys
  for (auto& s : sections_) {
    merge(snap->values, s.defaults);
    for (auto& spec : s.specs) {
      if (spec.record_set) continue;
      std::string key = s.prefix.empty() ? spec.key : s.prefix + "." + spec.key;
      known.insert(key);
      if (spec.bind_tree) {
        known_trees.push_back(key + ".");
        tree_items.emplace_back(key + ".", &spec.item_keys);
        for (const auto& item_key : spec.secret_item_keys) snap->secret_items.emplace_back(key + ".", item_key);
      }
      if (spec.secret) snap->secrets.insert(key);
    }
  }

  // Files: base, then the environment's folder in name order.
  std::vector<fs::path> files;
  fs::path dir(dir_);
  for (const char* name : {"base.yaml", "base.yml", "base.json"})
    if (fs::exists(dir / name)) files.push_back(dir / name);
  if (!options_.service.empty())
    for (const char* ext : {".yaml", ".yml", ".json"})
      if (fs::path own = dir / "services" / (options_.service + ext); fs::exists(own)) files.push_back(own);
  fs::path env_dir = dir / env_;
  std::error_code ec;
  if (fs::is_directory(env_dir, ec)) {
    std::vector<fs::path> env_files;
    for (auto& de : fs::directory_iterator(env_dir, ec))
      if (de.is_regular_file() && is_config_file(de.path())) env_files.push_back(de.path());
    std::sort(env_files.begin(), env_files.end());
    files.insert(files.end(), env_files.begin(), env_files.end());
  } else if (!options_.env.empty() || std::getenv((options_.env_prefix + "_ENV").c_str())) {
    // An environment asked for by name must exist: a typo must not run production on defaults.
    const std::string asked = options_.env.empty() ? "$" + options_.env_prefix + "_ENV" : "--env";
    if (dir_.empty())
      errors.push_back("environment \"" + env_ + "\" (" + asked + ") needs a configuration folder");
    else
      errors.push_back("environment \"" + env_ + "\" (" + asked + ") has no folder " + env_dir.string());
  }
  for (auto& f : files) {
    auto layer = load_file(f.string());
    if (!layer) {
      errors.emplace_back(layer.error().message());
      continue;
    }
    merge(snap->values, *layer);
  }

  // Environment variables, for every key a default or a file knows, and every key of the list and
  // map items the files have (SVCKIT_GATEWAY_UPSTREAMS_1_TIMEOUT for an item that sets only its name).
  std::set<std::string, std::less<>> candidates = known;
  for (auto& [k, v] : snap->values) candidates.insert(k);
  for (const auto& [prefix, item_keys] : tree_items) {
    std::set<std::string> items;
    for (auto it = snap->values.lower_bound(prefix); it != snap->values.end() && it->first.starts_with(prefix); ++it) {
      std::string_view rest = std::string_view(it->first).substr(prefix.size());
      if (auto dot = rest.find('.'); dot != std::string_view::npos) items.insert(std::string(rest.substr(0, dot)));
    }
    for (const auto& item : items)
      for (const auto& k : *item_keys)
        if (!k.ends_with('.')) candidates.insert(prefix + item + "." + k);
  }
  for (auto& key : candidates) {
    std::string name = detail::env_name(options_.env_prefix, key);
    if (const char* v = std::getenv(name.c_str())) snap->values[key] = Entry{v, {}, false, Origin{"env " + name, 0}};
    // SVCKIT_<KEY>_FILE is X_file from the environment: a mounted secret named in a Pod's env.
    name += "_FILE";
    if (const char* v = std::getenv(name.c_str()))
      snap->values[key + "_file"] = Entry{v, {}, false, Origin{"env " + name, 0}};
  }

  for (auto& set : options_.sets) {
    auto eq = set.find('=');
    if (eq == std::string::npos || eq == 0) {
      errors.push_back("--set " + set + ": expected key=value");
      continue;
    }
    snap->values[set.substr(0, eq)] = Entry{set.substr(eq + 1), {}, false, Origin{"flag --set", 0}};
  }

  for (auto& source : impl_->sources) {
    auto layer = source->load();
    if (!layer) {
      errors.push_back(source->name() + ": " + std::string(layer.error().message()));
      continue;
    }
    merge(snap->values, *layer);
  }

  // X_file: /path loads X from the file.
  std::vector<std::string> file_keys;
  for (auto& [k, e] : snap->values)
    if (ends_with(k, "_file") && known.count(std::string_view(k).substr(0, k.size() - 5))) file_keys.push_back(k);
  for (auto& fk : file_keys) {
    const Entry e = snap->values[fk];
    std::string target = fk.substr(0, fk.size() - 5);
    std::ifstream in(e.value);
    if (!in) {
      errors.push_back(fk + ": cannot read \"" + e.value + "\" (" + e.origin.to_string() + ")");
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string content = ss.str();
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.pop_back();
    snap->values[target] = Entry{content, {}, false, Origin{"file " + e.value + " via " + fk, 0}};
    snap->secrets.insert(target);
    snap->values.erase(fk);
  }

  // Keys under a defined section that no section defines are typos until proven otherwise.
  for (auto& [k, e] : snap->values) {
    if (known.count(k)) continue;
    if (std::any_of(known_trees.begin(), known_trees.end(), [&](const std::string& t) { return k.starts_with(t); }))
      continue;
    for (auto& s : sections_) {
      if (!s.prefix.empty() && k.size() > s.prefix.size() && k.compare(0, s.prefix.size(), s.prefix) == 0 &&
          k[s.prefix.size()] == '.') {
        errors.push_back(detail::display_key(k) + ": unknown key (" + e.origin.to_string() + ")");
        break;
      }
    }
  }

  for (auto& s : sections_) s.validate(*snap, errors);
  if (!errors.empty()) return std::unexpected(detail::join_errors(errors));
  return std::shared_ptr<const Snapshot>(std::move(snap));
}

Status Config::load() {
  std::lock_guard reload_lock(impl_->reload_mu);
  auto dir = resolve_dir(options_);
  if (!dir) return dir.error();
  dir_ = *dir;
  auto next = build();
  if (!next) return next.error();
  std::lock_guard lock(impl_->mu);
  impl_->current = std::move(*next);
  return {};
}

Status Config::reload() {
  std::lock_guard reload_lock(impl_->reload_mu);
  auto next = build();
  if (!next) {
    reload_failures_.fetch_add(1);
    ReloadEvent event{.error = next.error(), .failures = reload_failures_.load()};
    if (report_)
      report_(event);
    else
      std::fprintf(stderr, "config reload rejected, keeping the previous configuration: %s\n",
                   std::string(event.error.message()).c_str());
    return next.error();
  }
  apply(std::move(*next));
  return {};
}

void Config::apply(std::shared_ptr<const Snapshot> next) {
  std::shared_ptr<const Snapshot> prev;
  {
    std::lock_guard lock(impl_->mu);
    prev = std::move(impl_->current);
    impl_->current = next;
  }
  std::vector<std::string> changed;
  for (auto& [k, e] : next->values) {
    const Entry* old = prev->find(k);
    if (!old || old->value != e.value || old->is_list != e.is_list) changed.push_back(k);
  }
  for (auto& [k, e] : prev->values)
    if (!next->find(k)) changed.push_back(k);
  reloads_.fetch_add(1);
  if (report_) report_(ReloadEvent{.changed_keys = changed.size(), .failures = reload_failures_.load()});
  if (changed.empty()) return;

  std::vector<std::function<void(const Snapshot&)>> notify;
  {
    std::lock_guard lock(impl_->subs_mu);
    for (auto& [id, sub] : impl_->subs) {
      const std::string& p = sub.first;
      bool hit = std::any_of(changed.begin(), changed.end(), [&](const std::string& k) {
        return p.empty() || k == p || (k.size() > p.size() && k.compare(0, p.size(), p) == 0 && k[p.size()] == '.');
      });
      if (hit) notify.push_back(sub.second);
    }
  }
  for (auto& fn : notify) fn(*next);
}

Config::Subscription Config::subscribe(std::string prefix, std::function<void(const Snapshot&)> fn) {
  std::uint64_t id;
  {
    std::lock_guard lock(impl_->subs_mu);
    id = impl_->next_sub++;
    impl_->subs.emplace(id, std::make_pair(std::move(prefix), std::move(fn)));
  }
  std::weak_ptr<Impl> weak = impl_;
  return Subscription(reinterpret_cast<void*>(id), [weak, id](void*) {
    if (auto impl = weak.lock()) {
      std::lock_guard lock(impl->subs_mu);
      impl->subs.erase(id);
    }
  });
}

Status Config::watch() {
  if (impl_->stop_fd >= 0) return {};
  int ino = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (ino < 0) return Status(Code::kInternal, std::string("inotify_init1: ") + std::strerror(errno));
  // Watch folders, not files: editors that save by writing a temp file and renaming it over the
  // original replace the inode a file watch would be attached to.
  constexpr std::uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE;
  // The service's own file (services/<service>.yaml) is read on every reload, so its folder is watched too.
  for (auto& d : {fs::path(dir_), fs::path(dir_) / env_, fs::path(dir_) / "services"}) {
    std::error_code ec;
    if (dir_.empty()) break;
    if (options_.service.empty() && d.filename() == "services") continue;
    if (fs::is_directory(d, ec)) ::inotify_add_watch(ino, d.c_str(), kMask);
  }
  impl_->stop_fd = ::eventfd(0, EFD_CLOEXEC);
  for (auto& source : impl_->sources) {
    (void)source->watch([this] { (void)reload(); });
  }
  impl_->watcher = std::thread([this, ino] {
    bool pending = false;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
      pollfd fds[2] = {{ino, POLLIN, 0}, {impl_->stop_fd, POLLIN, 0}};
      // While a change is pending, wait only for the debounce window: a burst of events (an editor's
      // write + rename, a `cp` of several files) becomes one reload.
      int timeout = pending ? static_cast<int>(options_.debounce.count()) : -1;
      int n = ::poll(fds, 2, timeout);
      if (n < 0 && errno == EINTR) continue;
      if (fds[1].revents & POLLIN) break;
      if (n == 0 && pending) {
        pending = false;
        (void)reload();
        continue;
      }
      if (fds[0].revents & POLLIN) {
        for (;;) {
          ssize_t len = ::read(ino, buf, sizeof buf);
          if (len <= 0) break;
          for (char* p = buf; p < buf + len;) {
            auto* ev = reinterpret_cast<inotify_event*>(p);
            if (ev->len > 0 && is_config_file(fs::path(ev->name))) pending = true;
            p += sizeof(inotify_event) + ev->len;
          }
        }
      }
    }
    ::close(ino);
  });
  return {};
}

// ---- command line --------------------------------------------------------------------------------

Result<CommandLine> parse_command_line(int argc, const char* const* argv, ConfigOptions defaults) {
  CommandLine cl;
  cl.options = std::move(defaults);
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view flag) -> Result<std::string> {
      if (a.size() > flag.size() && a[flag.size()] == '=') return std::string(a.substr(flag.size() + 1));
      if (i + 1 >= argc) return make_error(Code::kInvalidArgument, std::string(flag) + " needs a value");
      return std::string(argv[++i]);
    };
    auto is = [&](std::string_view flag) { return a == flag || (a.starts_with(flag) && a[flag.size()] == '='); };
    if (is("--set")) {
      auto v = value("--set");
      if (!v) return std::unexpected(v.error());
      if (v->find('=') == std::string::npos || v->front() == '=')
        return make_error(Code::kInvalidArgument, "--set " + *v + ": expected key=value");
      cl.options.sets.push_back(*v);
    } else if (is("--config-dir")) {
      auto v = value("--config-dir");
      if (!v) return std::unexpected(v.error());
      cl.options.dir = *v;
    } else if (is("--env")) {
      auto v = value("--env");
      if (!v) return std::unexpected(v.error());
      cl.options.env = *v;
    } else if (a == "--print-config") {
      cl.print_config = true;
    } else if (a == "-h" || a == "--help") {
      cl.help = true;
    } else {
      return make_error(Code::kInvalidArgument, "unknown argument \"" + std::string(a) + "\" (see --help)");
    }
  }
  return cl;
}

std::string command_line_help(std::string_view program) {
  return "usage: " + std::string(program) +
         " [--config-dir DIR] [--env ENV] [--set key=value]... [--print-config]\n"
         "  --config-dir DIR   configuration folder (default: $SVCKIT_CONFIG_DIR, else configs/ in the working\n"
         "                     directory, beside the binary or up to three folders above it; none: no folder)\n"
         "  --env ENV          environment profile: reads DIR/ENV/*.yaml (default: $SVCKIT_ENV or dev)\n"
         "  --set key=value    override one key (highest precedence after remote sources)\n"
         "  --print-config     print the effective configuration with the source of each value, then exit\n"
         "Environment variables SVCKIT_<KEY> override files: SVCKIT_HTTP_PORT sets http.port.\n";
}

}  // namespace svckit::config
