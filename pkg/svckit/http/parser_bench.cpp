// Request-head parsing: a short API request (curl-like) and a browser-sized one (a dozen fields,
// cookies), each parsed whole from one buffer as the server does on the keep-alive hot path. Linked
// into svckit_http_bench with router_bench.cpp, which holds the main().
#include <benchmark/benchmark.h>

#include <string>

#include "svckit/http/parser.hpp"

namespace {
using namespace svckit::http;

const std::string kShort =
    "GET /v1/users/42?fields=name HTTP/1.1\r\nHost: api.example.com:8080\r\n"
    "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
const std::string kBrowser =
    "GET /static/app.js?v=3 HTTP/1.1\r\nHost: www.example.com\r\nConnection: keep-alive\r\n"
    "sec-ch-ua: \"Chromium\";v=\"120\"\r\nsec-ch-ua-mobile: ?0\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\nAccept: */*\r\n"
    "Sec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Dest: script\r\n"
    "Referer: https://www.example.com/\r\nAccept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\nCookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\n\r\n";

void parse(benchmark::State& state, const std::string& raw) {
  ParserLimits limits;
  RequestHead head;
  ParseError error;
  for (auto _ : state) {
    std::size_t consumed = 0, scanned = 0;
    auto r = parse_request_head(raw.data(), raw.size(), limits, head, consumed, scanned, error);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(head.header_count);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * raw.size()));
}

void BM_ParseShortRequest(benchmark::State& state) {
  parse(state, kShort);
}
void BM_ParseBrowserRequest(benchmark::State& state) {
  parse(state, kBrowser);
}

}  // namespace

BENCHMARK(BM_ParseShortRequest);
BENCHMARK(BM_ParseBrowserRequest);
