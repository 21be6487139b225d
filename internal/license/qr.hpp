#pragma once
// A licence's verification text as a QR code in SVG (GET /v1/licenses/:id/qr.svg), drawn server-side
// with libqrencode so that a browser shows it as a plain image and a phone camera reads it.
#include <string>
#include <string_view>
#include <vector>

#include "svckit/core/status.hpp"

namespace svckit::license {

// The code's modules, row by row (true: dark), without the quiet zone.
struct QrMatrix {
  int size = 0;
  std::vector<bool> dark;
  bool at(int x, int y) const { return dark[static_cast<std::size_t>(y) * static_cast<std::size_t>(size) + x]; }
};

// Error correction M (15 %), byte mode, the smallest version that holds the text. INVALID_ARGUMENT
// (QR_TOO_LONG) for a text too long for any version.
Result<QrMatrix> qr_encode(std::string_view text);

// The matrix as an SVG document: one path of unit-high runs in a viewBox with a 4-module quiet zone,
// black on white, crisp edges, `px` pixels a module at its natural size.
std::string qr_svg(const QrMatrix& m, int px = 6);

}  // namespace svckit::license
