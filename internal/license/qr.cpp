#include "qr.hpp"

#include <qrencode.h>

#include <cerrno>
#include <memory>

namespace svckit::license {

Result<QrMatrix> qr_encode(std::string_view text) {
  // libqrencode reads a NUL-terminated string: the text is copied once (a few hundred bytes).
  const std::string copy(text);
  errno = 0;
  std::unique_ptr<QRcode, void (*)(QRcode*)> code(QRcode_encodeString8bit(copy.c_str(), 0, QR_ECLEVEL_M), QRcode_free);
  if (!code) {
    if (errno == ERANGE)
      return make_error(Status(Code::kInvalidArgument, "QR_TOO_LONG", "the text does not fit a QR code"));
    return make_error(Status(Code::kInternal, "QR_FAILED", "libqrencode could not encode the text"));
  }
  QrMatrix m;
  m.size = code->width;
  m.dark.resize(static_cast<std::size_t>(m.size) * static_cast<std::size_t>(m.size));
  for (std::size_t i = 0; i < m.dark.size(); ++i) m.dark[i] = (code->data[i] & 1) != 0;  // bit 0: dark
  return m;
}

std::string qr_svg(const QrMatrix& m, int px) {
  constexpr int kQuiet = 4;  // ISO/IEC 18004's quiet zone, in modules
  const std::string side = std::to_string(m.size + 2 * kQuiet);
  const std::string pixels = std::to_string((m.size + 2 * kQuiet) * px);
  std::string out;
  out.reserve(static_cast<std::size_t>(m.size) * static_cast<std::size_t>(m.size) * 6 + 300);
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + side + " " + side + "\" width=\"" + pixels +
         "\" height=\"" + pixels + "\" shape-rendering=\"crispEdges\">";
  out += "<rect width=\"" + side + "\" height=\"" + side + "\" fill=\"#fff\"/><path fill=\"#000\" d=\"";
  // A run of dark modules in a row is one rectangle: a few times shorter than a square each.
  for (int y = 0; y < m.size; ++y) {
    for (int x = 0; x < m.size;) {
      if (!m.at(x, y)) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < m.size && m.at(x + run, y)) ++run;
      out += 'M' + std::to_string(x + kQuiet) + ' ' + std::to_string(y + kQuiet) + 'h' + std::to_string(run) + "v1h-" +
             std::to_string(run) + 'z';
      x += run;
    }
  }
  out += "\"/></svg>\n";
  return out;
}

}  // namespace svckit::license
