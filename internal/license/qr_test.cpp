// The QR SVG decoded by a real reader: the test draws the SVG's path itself (its own small
// rasteriser for the path's M/h/v/z commands), writes a PGM and reads it back with zbarimg
// (Debian's zbar-tools), so a wrong module, a missing quiet zone or a bad mask fails.
#include "qr.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "canonical.hpp"

namespace svckit::license {
namespace {

struct Raster {
  int side = 0;
  std::vector<unsigned char> px;  // 255 white, 0 black
};

// Parses viewBox and the path's "Mx yhNv1h-Nz" runs; anything else fails the test.
Raster rasterise(const std::string& svg, int scale) {
  Raster r;
  auto vb = svg.find("viewBox=\"0 0 ");
  EXPECT_NE(vb, std::string::npos);
  r.side = std::stoi(svg.substr(vb + 13));
  const int w = r.side * scale;
  r.px.assign(static_cast<std::size_t>(w) * w, 255);
  auto d = svg.find(" d=\"");
  EXPECT_NE(d, std::string::npos);
  std::size_t i = d + 4;
  while (svg[i] != '"') {
    int x = 0, y = 0, run = 0, back = 0;
    int n = std::sscanf(svg.c_str() + i, "M%d %dh%dv1h-%dz", &x, &y, &run, &back);
    EXPECT_EQ(n, 4) << svg.substr(i, 20);
    EXPECT_EQ(run, back);
    if (n != 4) return r;
    for (int yy = y * scale; yy < (y + 1) * scale; ++yy)
      for (int xx = x * scale; xx < (x + run) * scale; ++xx) r.px[static_cast<std::size_t>(yy) * w + xx] = 0;
    i = svg.find('z', i) + 1;
  }
  return r;
}

std::string zbar(const Raster& r, int scale) {
  char name[] = "/tmp/svckit-qr-XXXXXX";
  int fd = ::mkstemp(name);
  EXPECT_GE(fd, 0);
  ::close(fd);
  const std::string pgm = std::string(name) + ".pgm";
  {
    std::ofstream out(pgm, std::ios::binary);
    const int w = r.side * scale;
    out << "P5\n" << w << ' ' << w << "\n255\n";
    out.write(reinterpret_cast<const char*>(r.px.data()), static_cast<std::streamsize>(r.px.size()));
  }
  // stderr aside: zbarimg may complain there about a missing D-Bus, which is no part of the result.
  std::string cmd = "zbarimg --quiet --raw '" + pgm + "' 2>/dev/null";
  std::string text;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
    ::pclose(p);
  }
  std::remove(pgm.c_str());
  std::remove(name);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

TEST(Qr, SvgDecodesToTheVerificationText) {
  std::string canonical = R"({"attributes":{"name":"Ann <script>"},"id":"42","type":"driving_licence"})";
  std::string text = qr_text(canonical, std::string(64, '\x5a'));
  auto m = qr_encode(text);
  ASSERT_TRUE(m.has_value()) << m.error().message();
  std::string svg = qr_svg(*m);
  EXPECT_TRUE(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  Raster r = rasterise(svg, 4);
  EXPECT_EQ(r.side, m->size + 8);  // the quiet zone
  EXPECT_EQ(zbar(r, 4), text);
}

TEST(Qr, ALongLicenceStillFits) {
  std::string text = "SVCL1." + std::string(900, 'A') + ".sig";
  auto m = qr_encode(text);
  ASSERT_TRUE(m.has_value());
  EXPECT_GT(m->size, 60);
  EXPECT_EQ(zbar(rasterise(qr_svg(*m), 3), 3), text);
}

TEST(Qr, TextTooLongIsRefused) {
  auto m = qr_encode(std::string(5000, 'x'));  // beyond version 40 at level M (2331 bytes)
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().reason(), "QR_TOO_LONG");
}

}  // namespace
}  // namespace svckit::license
