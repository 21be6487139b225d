#pragma once
// Test helper (not installed): runs scripts/otlp_validate.sh, the OpenTelemetry protobuf schema through
// Google's protobuf runtime, on an OTLP/JSON document. Shared by the trace and app tests.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace svckit::trace::testing {

// Empty when doc is a valid export request of `signal` (traces, logs, metrics), else the validator's
// words. `skipped` is set outside make test (no SVCKIT_SOURCE_DIR, npm or protoc).
inline std::string otlp_schema_problem(const std::string& signal, const std::string& doc, bool& skipped) {
  const char* src = std::getenv("SVCKIT_SOURCE_DIR");
  skipped = !src || std::system("command -v npm >/dev/null && command -v protoc >/dev/null") != 0;
  if (skipped) return {};
  char path[] = "/tmp/svckit_otlp_XXXXXX";  // mkstemp's template
  int fd = mkstemp(path);
  if (fd < 0) return "mkstemp failed";
  ::close(fd);
  std::ofstream(path) << doc;
  std::string cmd = std::string("bash ") + src + "/scripts/otlp_validate.sh " + signal + " json " + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[512];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int rc = pclose(p);
  std::remove(path);
  return rc == 0 && out.find("VALID") == 0 ? std::string() : out.empty() ? "validator failed" : out;
}

}  // namespace svckit::trace::testing
