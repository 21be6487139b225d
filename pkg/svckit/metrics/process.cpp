// The standard process metrics, as the Prometheus client libraries name them, read from /proc.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "svckit/metrics/metrics.hpp"

namespace svckit::metrics {

namespace {

struct ProcStat {
  double cpu_seconds = 0;
  double threads = 0;
  double start_ticks = 0;
  double vsize = 0;
  double rss_pages = 0;
  bool ok = false;
};

ProcStat read_stat() {
  ProcStat s;
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return s;
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) return s;
  std::istringstream fields(line.substr(close + 2));
  std::string f[50];
  for (int i = 0; i < 50 && (fields >> f[i]); ++i) {
  }
  // f[0] is field 3 (state); utime 14, stime 15, num_threads 20, starttime 22, vsize 23, rss 24.
  double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  try {
    s.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
    s.threads = std::stod(f[17]);
    s.start_ticks = std::stod(f[19]);
    s.vsize = std::stod(f[20]);
    s.rss_pages = std::stod(f[21]);
    s.ok = true;
  } catch (...) {
  }
  return s;
}

double boot_time() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value;
  while (in >> key) {
    if (key == "btime" && (in >> value)) return value;
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

double open_fds() {
  DIR* d = opendir("/proc/self/fd");
  if (!d) return 0;
  double n = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++n;
  closedir(d);
  return n - 1;  // the directory stream's own descriptor
}

}  // namespace

void register_process_metrics(Registry& registry) {
  const double btime = boot_time();
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  registry.add_collector([=](Emitter& e) {
    ProcStat s = read_stat();
    if (!s.ok) return;
    e.counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", s.cpu_seconds);
    e.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", s.rss_pages * page);
    e.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", s.vsize);
    e.gauge("process_open_fds", "Number of open file descriptors.", open_fds());
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
      e.gauge("process_max_fds", "Maximum number of open file descriptors.", static_cast<double>(rl.rlim_cur));
    e.gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
            btime + s.start_ticks / ticks);
    e.gauge("process_threads", "Number of OS threads in the process.", s.threads);
  });
}

}  // namespace svckit::metrics
