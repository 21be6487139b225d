#pragma once
// Layered configuration, as Viper does it for Go, with typed binding and hot reload.
//
// Precedence, lowest first: defaults in code (the member initialisers of the structs you define)
// < configs/base.yaml < configs/services/<service>.yaml (a service's own keys in a folder several
// services share) < configs/<env>/*.yaml|*.json (env from SVCKIT_ENV, default "dev")
// < environment variables (SVCKIT_DB_HOST sets db.host) < --set key=value < added sources (remote).
//
// ```cpp
//   struct HttpConfig {                                      // binder.hpp
//     int port = 8080;
//     static void describe(config::Binder<HttpConfig>& b) { b.field("port", &HttpConfig::port).range(0, 65535); }
//   };
//   config::Config cfg(config::ConfigOptions{.dir = "configs"});
//   cfg.define<HttpConfig>("http");                 // keys, defaults and validation of a section
//   if (auto st = cfg.load(); !st.ok()) {          // every error names the key, file and line
//     logger.error("bad config", {{"err", st}});
//     return;
//   }
//   HttpConfig http = *cfg.get<HttpConfig>("http");
//   auto sub = cfg.on_change<HttpConfig>("http", [](const HttpConfig& c) { log::global().info("http changed"); });
//   if (auto st = cfg.watch(); !st.ok()) logger.warn("no hot reload", {{"err", st}});  // bad edits keep the old config
// ```
//
// A key `X_file: /path` loads X from that file (secrets). Keys ending in password, secret, _key or
// token, and fields marked .secret(), are redacted when printed, as are credentials inside any value
// (a DSN's password=..., a URL's user:password@).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "svckit/config/binder.hpp"
#include "svckit/config/layer.hpp"

namespace svckit::config {

// The merged configuration at one moment. Immutable; a reload makes a new one.
struct Snapshot {
  Layer values;
  std::set<std::string, std::less<>> secrets;
  // Secret keys inside lists and maps: (the list's key + ".", the item's key, "*" for a nested item).
  std::vector<std::pair<std::string, std::string>> secret_items;
  std::string env;

  const Entry* find(std::string_view key) const {
    auto it = values.find(key);
    return it == values.end() ? nullptr : &it->second;
  }
  bool is_secret(std::string_view key) const;
  // "key = value  # origin" per line, sorted; secrets shown as <redacted> unless redact is false.
  std::string print(bool redact = true) const;
};

// A source of keys beyond the files, env and flags: remote stores (etcd) plug in here.
class Source {
 public:
  virtual ~Source() = default;
  virtual std::string name() const = 0;
  virtual Result<Layer> load() = 0;
  // Calls changed() whenever the source has new data; the Config then reloads. Optional.
  virtual Status watch(std::function<void()> changed) {
    (void)changed;
    return {};
  }
};

struct ConfigOptions {
  // The configuration folder. Empty: $<env_prefix>_CONFIG_DIR when set, else the first folder named
  // `configs` in the working directory, beside the binary, or up to three folders above the binary
  // (so a service finds its configuration wherever it is started from); none found is an error.
  // A folder named explicitly must exist. "none": no folder at all (defaults, environment variables
  // and --set only). Relative paths in the configuration resolve against the folder that holds it
  // (see Config::resolve).
  std::string dir;
  std::string env;  // empty: $SVCKIT_ENV, else "dev"
  // The service's name: <dir>/services/<service>.yaml (or .yml/.json), when it exists, is read after
  // base.yaml and before the environment's files. The App sets it to its name.
  std::string service;
  std::string env_prefix = "SVCKIT";
  std::vector<std::string> sets;  // "key=value", from --set
  std::chrono::milliseconds debounce{150};
};

// What one reload did, for whoever reports it: the App logs it; without a reporter a rejected reload
// is written to stderr (config sits below the logging module, so it does not log by itself).
struct ReloadEvent {
  Status error;  // not OK: the reload was rejected and the previous configuration kept
  std::size_t changed_keys = 0;
  std::uint64_t failures = 0;  // rejected reloads so far
};

// Binds one section of a snapshot into T; errors collected into `errors` as "key: problem (origin)".
template <class T>
Result<T> bind(const Snapshot& snap, std::string_view prefix);

class Config {
 public:
  using Subscription = std::shared_ptr<void>;  // drop it to unsubscribe

  explicit Config(ConfigOptions options = {});
  ~Config();
  Config(const Config&) = delete;
  Config& operator=(const Config&) = delete;

  template <class T>
  void define(std::string prefix);
  // Whether define<T>(prefix) was called for this prefix.
  bool defines(std::string_view prefix) const noexcept;
  // Called after every reload() and every reload the watcher makes, on the reloading thread.
  void on_reload(std::function<void(const ReloadEvent&)> report);
  void add_source(std::shared_ptr<Source> source);

  // Reads every source and validates every defined section. On error nothing changes.
  Status load();
  const std::string& env() const noexcept { return env_; }
  // The configuration folder in use (absolute), empty with "none"; set by load().
  const std::string& dir() const noexcept { return dir_; }
  // A path from the configuration (migrations, documents, data) made absolute: a relative path is
  // taken from the service's root, the folder that holds the configuration folder (the working
  // directory with "none"), so the working directory never decides what a service reads.
  std::string resolve(std::string_view path) const;
  std::shared_ptr<const Snapshot> snapshot() const;
  template <class T>
  Result<T> get(std::string_view prefix) const {
    return config::bind<T>(*snapshot(), prefix);
  }
  std::string print(bool redact = true) const { return snapshot()->print(redact); }

  // Called after a reload changed a key equal to or under prefix ("" = any), on the watcher thread.
  [[nodiscard]] Subscription subscribe(std::string prefix, std::function<void(const Snapshot&)> fn);
  template <class T>
  [[nodiscard]] Subscription on_change(std::string prefix, std::function<void(const T&)> fn) {
    return subscribe(prefix, [prefix, fn = std::move(fn)](const Snapshot& s) {
      if (auto v = config::bind<T>(s, prefix)) fn(*v);
    });
  }

  // Watches the config folders (and sources that can) and reloads after a debounce.
  Status watch();
  // Re-reads everything now; a failure keeps the current snapshot, is logged and counted.
  Status reload();
  std::uint64_t reloads() const noexcept { return reloads_.load(); }
  std::uint64_t reload_failures() const noexcept { return reload_failures_.load(); }

 private:
  struct Section {
    std::string prefix;
    std::vector<FieldSpec> specs;
    Layer defaults;
    std::function<void(const Snapshot&, std::vector<std::string>&)> validate;
  };
  Result<std::shared_ptr<const Snapshot>> build() const;
  void apply(std::shared_ptr<const Snapshot> next);
  void add_section(Section section);

  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared: a Subscription may outlive the Config
  ConfigOptions options_;
  std::string env_;
  std::string dir_;
  std::function<void(const ReloadEvent&)> report_;  // under Impl::reload_mu
  std::vector<Section> sections_;
  std::atomic<std::uint64_t> reloads_{0};
  std::atomic<std::uint64_t> reload_failures_{0};
};

// Command line of every svckit binary: --set key=value (repeatable), --config-dir DIR, --env ENV,
// --print-config, --help. Unknown flags are errors.
struct CommandLine {
  ConfigOptions options;
  bool print_config = false;
  bool help = false;
};
Result<CommandLine> parse_command_line(int argc, const char* const* argv, ConfigOptions defaults = {});
std::string command_line_help(std::string_view program);

// ---- templates -----------------------------------------------------------------------------------

namespace detail {
// Binds specs into obj; appends "key: problem (origin)" to errors.
void bind_specs(const Snapshot& snap, std::string_view prefix, const std::vector<FieldSpec>& specs, void* obj,
                std::vector<std::string>& errors);
Status join_errors(const std::vector<std::string>& errors);
// The environment variable of a key: SVCKIT + "db.pool.max" → SVCKIT_DB_POOL_MAX.
std::string env_name(std::string_view prefix, std::string_view key);
// A key segment that is a list index ("0", "12").
bool is_index(std::string_view segment);
// A key as errors show it: list indices in brackets ("resilience.upstreams[2].timeout").
std::string display_key(std::string_view key);
// The items under key: for a list their indices (an error for keys that are not key.N.field), for a
// map their names.
std::vector<std::size_t> list_items(const Snapshot& snap, const std::string& key, std::vector<std::string>& errors);
std::vector<std::string> map_items(const Snapshot& snap, const std::string& key, std::vector<std::string>& errors);
// Errors for keys under item_prefix that the item's struct does not define.
void check_item_keys(const Snapshot& snap, const std::string& item_prefix, const std::vector<std::string>& known,
                     std::vector<std::string>& errors);
}  // namespace detail

template <class T>
void bind_into(const Snapshot& snap, std::string_view prefix, T& out, std::vector<std::string>& errors) {
  Binder<T> binder;
  T::describe(binder);
  std::size_t before = errors.size();
  detail::bind_specs(snap, prefix, binder.specs(), &out, errors);
  if (errors.size() != before) return;  // cross-field rules would only repeat the damage
  for (auto& rule : binder.validators()) {
    if (auto st = rule(out); !st.ok()) errors.push_back(detail::display_key(prefix) + ": " + std::string(st.message()));
  }
}

namespace detail {

template <Described S>
std::vector<std::string> item_keys() {
  Binder<S> b;
  S::describe(b);
  std::vector<std::string> keys;
  for (const auto& spec : b.specs())
    if (!spec.record_set) keys.push_back(spec.bind_tree ? spec.key + "." : spec.key);
  return keys;
}

template <Described S>
std::vector<std::string> secret_item_keys() {
  Binder<S> b;
  S::describe(b);
  std::vector<std::string> keys;
  for (const auto& spec : b.specs()) {
    if (spec.secret) keys.push_back(spec.key);
    for (const auto& inner : spec.secret_item_keys) keys.push_back(spec.key + ".*." + inner);  // nested lists
  }
  return keys;
}

template <Described S>
void write_defaults(const S& item, const std::string& prefix, Layer& out) {
  Binder<S> b;
  S::describe(b);
  for (const auto& spec : b.specs()) {
    if (spec.record_set) continue;
    std::string key = prefix + "." + spec.key;
    if (spec.defaults_tree)
      spec.defaults_tree(&item, key, out);
    else  // a default item is a whole value: its required fields are set too
      out[key] = Entry{spec.format(&item), {}, false, Origin{"default", 0}};
  }
}

template <Described S>
void bind_list(const Snapshot& snap, const std::string& key, std::vector<S>& out, std::vector<std::string>& errors) {
  std::vector<std::size_t> indices = list_items(snap, key, errors);
  if (indices.empty()) return;
  out.clear();
  const std::vector<std::string> known = item_keys<S>();
  for (std::size_t n : indices) {
    const std::string item_key = key + "." + std::to_string(n);
    S item{};
    bind_into(snap, item_key, item, errors);
    check_item_keys(snap, item_key, known, errors);
    out.push_back(std::move(item));
  }
}

template <Described S>
void bind_map(const Snapshot& snap, const std::string& key, std::map<std::string, S>& out,
              std::vector<std::string>& errors) {
  std::vector<std::string> names = map_items(snap, key, errors);
  if (names.empty()) return;
  out.clear();
  const std::vector<std::string> known = item_keys<S>();
  for (const auto& name : names) {
    const std::string item_key = key + "." + name;
    S item{};
    bind_into(snap, item_key, item, errors);
    check_item_keys(snap, item_key, known, errors);
    out.emplace(name, std::move(item));
  }
}

}  // namespace detail

template <class T>
Result<T> bind(const Snapshot& snap, std::string_view prefix) {
  T out{};
  std::vector<std::string> errors;
  bind_into(snap, prefix, out, errors);
  if (!errors.empty()) return std::unexpected(detail::join_errors(errors));
  return out;
}

// `base` with the keys in `keys` (as Binder::keys_set records them) taken from `top`: a struct laid
// over another key by key, such as a method's call policy over its upstream's.
template <Described T>
T overlay(T base, const T& top, const std::vector<std::string>& keys) {
  Binder<T> b;
  T::describe(b);
  for (const auto& spec : b.specs()) {
    if (spec.bind_tree || !spec.assign || !spec.format) continue;
    if (std::find(keys.begin(), keys.end(), spec.key) == keys.end()) continue;
    (void)spec.assign(Entry{spec.format(&top), {}, false, Origin{"overlay", 0}}, &base);  // a bound value re-reads
  }
  return base;
}

template <class T>
void Config::define(std::string prefix) {
  Binder<T> binder;
  T::describe(binder);
  Section s;
  s.prefix = prefix;
  s.specs = binder.specs();
  T defaults{};
  for (auto& spec : s.specs) {
    if (spec.required || spec.record_set) continue;  // a required key has no default by definition
    std::string key = prefix.empty() ? spec.key : prefix + "." + spec.key;
    if (spec.defaults_tree)
      spec.defaults_tree(&defaults, key, s.defaults);
    else
      s.defaults[key] = Entry{spec.format(&defaults), {}, false, Origin{"default", 0}};
  }
  s.validate = [prefix](const Snapshot& snap, std::vector<std::string>& errors) {
    T out{};
    bind_into(snap, prefix, out, errors);
  };
  add_section(std::move(s));
}

}  // namespace svckit::config
