// bench/grpc's load generator: one client for every server measured, so differences are the servers'.
//   echo_load stream|unary TARGET [--streams N] [--window W] [--channels C] [--payload BYTES]
//             [--warmup S] [--seconds S] [--server-pid PID]
// stream: N bidi streams over C connections, each keeping W messages in flight; unary: N concurrent
// unary calls. Prints one line: messages (or calls) per second, p50/p99 round trip, and, with
// --server-pid, the server's CPU microseconds per message over the measured interval (utime+stime
// from /proc), the figure that does not depend on how fast this client is.
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "echo.grpc.pb.h"

namespace {

using svckit::bench::echo::v1::Echo;
using svckit::bench::echo::v1::EchoMessage;
using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// Log-linear latency histogram: 32 sub-buckets per power of two (≤ 3 % error), nanoseconds.
struct Histogram {
  static constexpr int kSub = 32;
  std::array<std::uint64_t, 64 * kSub> counts{};
  static int index(std::uint64_t v) {
    if (v < kSub) return static_cast<int>(v);
    int msb = 63 - std::countl_zero(v);
    int shift = msb - 5;
    return (msb - 4) * kSub + static_cast<int>((v >> shift) & (kSub - 1));
  }
  static std::uint64_t lower(int i) {
    if (i < kSub) return static_cast<std::uint64_t>(i);
    int msb = i / kSub + 4;
    return (std::uint64_t{1} << msb) | (static_cast<std::uint64_t>(i % kSub) << (msb - 5));
  }
  void record(std::uint64_t v) { ++counts[static_cast<std::size_t>(index(v))]; }
  void merge(const Histogram& o) {
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += o.counts[i];
  }
  std::uint64_t total() const {
    std::uint64_t t = 0;
    for (auto c : counts) t += c;
    return t;
  }
  double quantile_us(double q) const {
    std::uint64_t want = static_cast<std::uint64_t>(q * static_cast<double>(total())), seen = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      seen += counts[i];
      if (seen > want) return static_cast<double>(lower(static_cast<int>(i))) / 1000.0;
    }
    return 0;
  }
};

std::atomic<bool> measuring{false};
std::atomic<bool> stopping{false};

// What every client loop shares: latencies recorded under a lock, and a "finished" flag to wait for.
class Recorder {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_; });
  }
  Histogram take() {
    std::lock_guard lock(mu_);
    return hist_;
  }

 protected:
  void finished() {
    std::lock_guard lock(mu_);
    done_ = true;
    cv_.notify_all();
  }
  std::mutex mu_;
  Histogram hist_;

 private:
  std::condition_variable cv_;
  bool done_ = false;
};

class StreamClient final : public ::grpc::ClientBidiReactor<EchoMessage, EchoMessage>, public Recorder {
 public:
  StreamClient(Echo::Stub* stub, int window, const std::string& payload) : window_(window) {
    out_.set_payload(payload);
    stub->async()->Stream(&ctx_, this);
    StartRead(&in_);
    StartCall();
    std::lock_guard lock(mu_);
    next_write();
  }
  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (ok) next_write();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    std::int64_t rtt = now_ns() - in_.sent_ns();
    std::lock_guard lock(mu_);
    if (measuring.load(std::memory_order_relaxed))
      hist_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(rtt, 0)));
    --in_flight_;
    StartRead(&in_);
    next_write();
  }
  void OnDone(const ::grpc::Status&) override { finished(); }
  void cancel() { ctx_.TryCancel(); }

 private:
  void next_write() {  // mu_ held
    if (writing_ || in_flight_ >= window_ || stopping.load(std::memory_order_relaxed)) return;
    writing_ = true;
    ++in_flight_;
    out_.set_sent_ns(now_ns());
    out_.set_seq(out_.seq() + 1);
    StartWrite(&out_);
  }
  ::grpc::ClientContext ctx_;
  EchoMessage in_, out_;
  int window_;
  int in_flight_ = 0;
  bool writing_ = false;
};

// One of N concurrent unary callers: each completion issues the next call.
class UnaryLoop : public Recorder {
 public:
  UnaryLoop(Echo::Stub* stub, const std::string& payload) : stub_(stub) { req_.set_payload(payload); }
  void start() { issue(); }

 private:
  void issue() {
    if (stopping.load(std::memory_order_relaxed)) return finished();
    ctx_ = std::make_unique<::grpc::ClientContext>();
    req_.set_sent_ns(now_ns());
    stub_->async()->Unary(ctx_.get(), &req_, &resp_, [this](::grpc::Status st) {
      if (st.ok() && measuring.load(std::memory_order_relaxed)) {
        std::lock_guard lock(mu_);
        hist_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(now_ns() - resp_.sent_ns(), 0)));
      }
      issue();
    });
  }
  Echo::Stub* stub_;
  std::unique_ptr<::grpc::ClientContext> ctx_;
  EchoMessage req_, resp_;
};

double cpu_seconds(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
  std::vector<std::string> f;
  std::size_t pos = close + 2;
  while (pos < stat.size()) {
    auto sp = stat.find(' ', pos);
    if (sp == std::string::npos) sp = stat.size();
    f.push_back(stat.substr(pos, sp - pos));
    pos = sp + 1;
  }
  if (f.size() < 13) return 0;
  return static_cast<double>(std::stoull(f[11]) + std::stoull(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: echo_load stream|unary TARGET [--streams N] [--window W] [--channels C] "
                 "[--payload BYTES] [--warmup S] [--seconds S] [--server-pid PID]\n");
    return 2;
  }
  std::string mode = argv[1], target = argv[2];
  int streams = 64, window = 1, channels = 4, payload = 64;
  double warmup = 2, seconds = 10;
  long pid = 0;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    double v = std::atof(argv[i + 1]);
    if (k == "--streams")
      streams = static_cast<int>(v);
    else if (k == "--window")
      window = static_cast<int>(v);
    else if (k == "--channels")
      channels = static_cast<int>(v);
    else if (k == "--payload")
      payload = static_cast<int>(v);
    else if (k == "--warmup")
      warmup = v;
    else if (k == "--seconds")
      seconds = v;
    else if (k == "--server-pid")
      pid = static_cast<long>(v);
    else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  std::vector<std::unique_ptr<Echo::Stub>> stubs;
  for (int i = 0; i < channels; ++i) {
    ::grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one HTTP/2 connection per channel
    auto ch = ::grpc::CreateCustomChannel(target, ::grpc::InsecureChannelCredentials(), args);
    if (!ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(5))) {
      std::fprintf(stderr, "echo_load: cannot connect to %s\n", target.c_str());
      return 1;
    }
    stubs.push_back(Echo::NewStub(ch));
  }
  std::string body(static_cast<std::size_t>(payload), 'x');
  std::vector<std::unique_ptr<StreamClient>> sc;
  std::vector<std::unique_ptr<UnaryLoop>> uc;
  for (int i = 0; i < streams; ++i) {
    auto* stub = stubs[static_cast<std::size_t>(i % channels)].get();
    if (mode == "stream")
      sc.push_back(std::make_unique<StreamClient>(stub, window, body));
    else
      uc.push_back(std::make_unique<UnaryLoop>(stub, body));
  }
  for (auto& u : uc) u->start();
  std::this_thread::sleep_for(std::chrono::duration<double>(warmup));
  double cpu0 = pid ? cpu_seconds(pid) : 0;
  auto t0 = Clock::now();
  measuring = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  measuring = false;
  double elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu1 = pid ? cpu_seconds(pid) : 0;
  stopping = true;
  Histogram all;
  for (auto& s : sc) {
    s->cancel();
    s->wait();
    all.merge(s->take());
  }
  for (auto& u : uc) {
    u->wait();
    all.merge(u->take());
  }
  double n = static_cast<double>(all.total());
  std::printf("mode=%s streams=%d window=%d payload=%d msgs=%.0f rate=%.0f p50_us=%.1f p99_us=%.1f", mode.c_str(),
              streams, window, payload, n, n / elapsed, all.quantile_us(0.5), all.quantile_us(0.99));
  if (pid) std::printf(" server_cpu_us=%.2f", n > 0 ? (cpu1 - cpu0) * 1e6 / n : 0.0);
  std::printf("\n");
  return n > 0 ? 0 : 1;
}
