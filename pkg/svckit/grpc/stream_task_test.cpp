// Streaming methods as coroutines (Service::stream_task, server_stream_task) over real HTTP/2 on
// 127.0.0.1: every streaming kind, flow control (a writer waits for a slow reader instead of queueing),
// a client's cancellation and deadline reaching the handler, and a throw answered INTERNAL.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <thread>

#include "ping.grpc.pb.h"
#include "svckit/grpc/service.hpp"

using namespace std::chrono_literals;

namespace svckit::grpc {
namespace {

using svckit::test::v1::Ping;
using svckit::test::v1::PingReply;
using svckit::test::v1::PingRequest;

class StreamTaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Server streaming: a reply per word of the request; "big N" sends N replies of 256 KiB each;
    // "slow" sends a reply every 50 ms until the call is gone; "throw" throws.
    service_.server_stream_task<PingRequest, PingReply>(
        "Watch", rt_, [this](const PingRequest& in, Stream<PingRequest, PingReply>& out) -> Task<Status> {
          std::istringstream words(in.text());
          std::string first;
          words >> first;
          if (first == "throw") throw std::runtime_error("told to throw");
          if (first == "big") {
            int n = 0;
            words >> n;
            PingReply r;
            r.set_text(std::string(256 << 10, 'x'));
            for (int i = 0; i < n; ++i) {
              if (Status st = co_await out.write(r); !st.ok()) co_return st;
              ++big_written_;
            }
            co_return Status();
          }
          if (first == "batch") {
            int n = 0;
            words >> n;
            std::vector<PingReply> all(static_cast<std::size_t>(n));
            for (int i = 0; i < n; ++i) all[static_cast<std::size_t>(i)].set_text(std::to_string(i));
            Task<Status> sending = out.write_all(std::move(all));
            co_return co_await std::move(sending);
          }
          if (first == "slow") {
            for (;;) {
              PingReply r;
              r.set_text("tick");
              Status st = co_await out.write(r);
              if (st.ok()) st = co_await sleep_for(out.context(), 50ms);
              if (!st.ok()) {
                std::lock_guard lock(mu_);
                slow_ended_ = st;
                co_return st;
              }
            }
          }
          PingReply r;
          for (std::string w = first; !w.empty(); w.clear(), words >> w) {
            r.set_text(w);
            if (Status st = co_await out.write(r); !st.ok()) co_return st;
          }
          co_return Status();
        });
    // Client streaming: joins every text, answers once.
    service_.stream_task<PingRequest, PingReply>("Join", rt_, [](Stream<PingRequest, PingReply>& s) -> Task<Status> {
      std::string all;
      while (auto m = co_await s.read()) {
        if (!all.empty()) all += ",";
        all += m->text();
      }
      PingReply r;
      r.set_text(all);
      co_return co_await s.write(r);
    });
    // Bidirectional: answers each message with how many it has seen; "finish" ends the call from the
    // handler's side first, then tries to go on reading and writing (which must not reach grpc++).
    service_.stream_task<PingRequest, PingReply>("Count", rt_,
                                                 [this](Stream<PingRequest, PingReply>& s) -> Task<Status> {
                                                   int n = 0;
                                                   while (auto m = co_await s.read()) {
                                                     if (m->text() == "finish") {
                                                       s.finish(Status(Code::kAborted, "ended by the handler"));
                                                       auto more = co_await s.read();
                                                       PingReply r;
                                                       Status w = co_await s.write(r);
                                                       std::lock_guard lock(mu_);
                                                       after_finish_ = {more.has_value(), w};
                                                       co_return Status();  // ignored: the first status won
                                                     }
                                                     PingReply r;
                                                     r.set_text(std::to_string(++n));
                                                     if (Status st = co_await s.write(r); !st.ok()) co_return st;
                                                   }
                                                   co_return Status();
                                                 });
    ServerSettings s;
    s.host = "127.0.0.1";
    s.port = 0;
    server_ = std::make_unique<Server>(s, log::Logger({.level = log::Level::kOff}), registry_);
    server_->add_service(&service_);
    ASSERT_TRUE(server_->start().ok());
    channel_ =
        ::grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()), ::grpc::InsecureChannelCredentials());
    ping_ = Ping::NewStub(channel_);
  }
  void TearDown() override {
    ping_.reset();
    server_->shutdown();
  }
  std::unique_ptr<::grpc::ClientContext> call_context(std::chrono::milliseconds timeout = 30s) {
    auto c = std::make_unique<::grpc::ClientContext>();
    c->set_deadline(std::chrono::system_clock::now() + timeout);
    return c;
  }
  // Waits (up to 2 s) until done() holds under mu_: what a handler records after its call ended.
  template <class F>
  void wait_until(F done) {
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard lock(mu_);
        if (done()) return;
      }
      std::this_thread::sleep_for(10ms);
    }
  }
  std::string wait_for_metric(const std::string& series) const {
    std::string m;
    for (int i = 0; i < 500; ++i) {
      m = registry_.render();
      if (m.find(series) != std::string::npos) break;
      std::this_thread::sleep_for(10ms);
    }
    return m;
  }

  Runtime rt_{{.workers = 2}};
  metrics::Registry registry_;
  Service service_{"svckit.test.v1.Ping"};
  std::unique_ptr<Server> server_;
  std::shared_ptr<::grpc::Channel> channel_;
  std::unique_ptr<Ping::Stub> ping_;
  std::atomic<int> big_written_{0};
  std::mutex mu_;
  std::optional<Status> slow_ended_;
  std::optional<std::pair<bool, Status>> after_finish_;
};

TEST_F(StreamTaskTest, EveryStreamingKindRunsAsACoroutine) {
  {
    auto ctx = call_context();
    PingRequest req;
    req.set_text("one two three");
    auto reader = ping_->Watch(ctx.get(), req);
    std::vector<std::string> got;
    for (PingReply r; reader->Read(&r);) got.push_back(r.text());
    EXPECT_TRUE(reader->Finish().ok());
    EXPECT_EQ(got, (std::vector<std::string>{"one", "two", "three"}));
  }
  {
    auto ctx = call_context();
    PingReply reply;
    auto writer = ping_->Join(ctx.get(), &reply);
    for (const char* t : {"a", "b", "c"}) {
      PingRequest req;
      req.set_text(t);
      ASSERT_TRUE(writer->Write(req));
    }
    writer->WritesDone();
    EXPECT_TRUE(writer->Finish().ok());
    EXPECT_EQ(reply.text(), "a,b,c");
  }
  {
    auto ctx = call_context();
    auto stream = ping_->Count(ctx.get());
    PingRequest req;
    PingReply reply;
    for (int i = 1; i <= 5; ++i) {
      ASSERT_TRUE(stream->Write(req));
      ASSERT_TRUE(stream->Read(&reply));
      EXPECT_EQ(reply.text(), std::to_string(i));
    }
    stream->WritesDone();
    EXPECT_TRUE(stream->Finish().ok());
  }
  const std::string count = R"(grpc_service="svckit.test.v1.Ping",grpc_method="Count",grpc_type="bidi_stream")";
  std::string m = wait_for_metric("grpc_server_handled_total{" + count + R"(,grpc_code="OK"} 1)");
  EXPECT_NE(m.find("grpc_server_msg_received_total{" + count + "} 5"), std::string::npos) << m;
  EXPECT_NE(m.find("grpc_server_msg_sent_total{" + count + "} 5"), std::string::npos) << m;
}

TEST_F(StreamTaskTest, WriteAllSendsABatchInOrderAndCountsEachMessage) {
  auto ctx = call_context();
  PingRequest req;
  req.set_text("batch 500");
  auto reader = ping_->Watch(ctx.get(), req);
  int expect = 0;
  bool in_order = true;
  for (PingReply r; reader->Read(&r); ++expect) in_order = in_order && r.text() == std::to_string(expect);
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(expect, 500);
  EXPECT_TRUE(in_order);
  const std::string watch = R"(grpc_service="svckit.test.v1.Ping",grpc_method="Watch",grpc_type="server_stream")";
  std::string m = wait_for_metric("grpc_server_handled_total{" + watch + R"(,grpc_code="OK"} 1)");
  EXPECT_NE(m.find("grpc_server_msg_sent_total{" + watch + "} 500"), std::string::npos) << m;
}

TEST_F(StreamTaskTest, AWriterWaitsForASlowReaderInsteadOfQueueing) {
  auto ctx = call_context();
  PingRequest req;
  req.set_text("big 64");  // 16 MiB in all
  // A client with a fixed 64 KiB window (no BDP growth), so what the transport can hold is bounded.
  ::grpc::ChannelArguments args;
  args.SetInt("grpc.http2.bdp_probe", 0);
  args.SetInt("grpc.http2.lookahead_bytes", 65536);
  auto slow = Ping::NewStub(::grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(server_->port()),
                                                        ::grpc::InsecureChannelCredentials(), args));
  auto reader = slow->Watch(ctx.get(), req);
  PingReply r;
  ASSERT_TRUE(reader->Read(&r));
  // The client reads nothing more for a while: flow control stops the handler after what the
  // windows and socket buffers hold, well short of all 64.
  std::this_thread::sleep_for(500ms);
  int stalled_at = big_written_.load();
  EXPECT_LT(stalled_at, 48) << "the handler did not wait for the reader";
  int got = 1;
  while (reader->Read(&r)) ++got;
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(got, 64);
  EXPECT_EQ(big_written_.load(), 64);
}

TEST_F(StreamTaskTest, TheClientsCancellationAndDeadlineEndTheHandlersWrites) {
  {
    auto ctx = call_context();
    PingRequest req;
    req.set_text("slow");
    auto reader = ping_->Watch(ctx.get(), req);
    PingReply r;
    ASSERT_TRUE(reader->Read(&r));
    ctx->TryCancel();
    EXPECT_EQ(reader->Finish().error_code(), ::grpc::StatusCode::CANCELLED);
    wait_until([this] { return slow_ended_.has_value(); });
    std::lock_guard lock(mu_);
    ASSERT_TRUE(slow_ended_.has_value()) << "the handler never learnt that the call was gone";
    EXPECT_FALSE(slow_ended_->ok());
    slow_ended_.reset();
  }
  {
    auto ctx = call_context(300ms);
    PingRequest req;
    req.set_text("slow");
    auto reader = ping_->Watch(ctx.get(), req);
    int ticks = 0;
    for (PingReply r; reader->Read(&r);) ++ticks;
    EXPECT_EQ(reader->Finish().error_code(), ::grpc::StatusCode::DEADLINE_EXCEEDED);
    EXPECT_GE(ticks, 2);
    wait_until([this] { return slow_ended_.has_value(); });
    std::lock_guard lock(mu_);
    ASSERT_TRUE(slow_ended_.has_value());
    EXPECT_EQ(slow_ended_->code(), Code::kDeadlineExceeded) << slow_ended_->to_string();
  }
  std::string m = wait_for_metric(R"(grpc_method="Watch",grpc_type="server_stream",grpc_code="CANCELLED"} 1)");
  EXPECT_NE(m.find(R"(grpc_method="Watch",grpc_type="server_stream",grpc_code="CANCELLED"} 1)"), std::string::npos)
      << m;
}

TEST_F(StreamTaskTest, AThrowingHandlerAnswersInternalAndTheServerKeepsServing) {
  auto ctx = call_context();
  PingRequest req;
  req.set_text("throw");
  auto reader = ping_->Watch(ctx.get(), req);
  PingReply r;
  EXPECT_FALSE(reader->Read(&r));
  auto st = reader->Finish();
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::INTERNAL);
  EXPECT_NE(st.error_message().find("told to throw"), std::string::npos) << st.error_message();
  auto again = call_context();
  req.set_text("still here");
  auto ok = ping_->Watch(again.get(), req);
  std::vector<std::string> got;
  for (PingReply x; ok->Read(&x);) got.push_back(x.text());
  EXPECT_TRUE(ok->Finish().ok());
  EXPECT_EQ(got, (std::vector<std::string>{"still", "here"}));
}

TEST_F(StreamTaskTest, AfterFinishNothingMoreIsReadOrWrittenAndTheFirstStatusWins) {
  auto ctx = call_context();
  auto stream = ping_->Count(ctx.get());
  PingRequest req;
  req.set_text("finish");
  ASSERT_TRUE(stream->Write(req));
  PingReply reply;
  EXPECT_FALSE(stream->Read(&reply));
  auto st = stream->Finish();
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::ABORTED);
  EXPECT_NE(st.error_message().find("ended by the handler"), std::string::npos) << st.error_message();
  wait_until([this] { return after_finish_.has_value(); });
  std::lock_guard lock(mu_);
  ASSERT_TRUE(after_finish_.has_value());
  EXPECT_FALSE(after_finish_->first);  // no message after finish
  EXPECT_FALSE(after_finish_->second.ok());
}

}  // namespace
}  // namespace svckit::grpc
