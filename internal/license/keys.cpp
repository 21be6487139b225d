#include "keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace svckit::license {

namespace {

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Code::kFailedPrecondition, "cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes `text` to a new file at `path`, mode 0600, without ever replacing one that exists: a
// temporary file linked into place (link fails with EEXIST when another instance got there first).
Status create_private_file(const std::string& path, const std::string& text) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status(Code::kFailedPrecondition, "cannot create " + tmp + ": " + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (ok && ::link(tmp.c_str(), path.c_str()) != 0 && errno != EEXIST) ok = false;
  int saved = errno;
  ::unlink(tmp.c_str());
  if (!ok) return Status(Code::kFailedPrecondition, "cannot write " + path + ": " + std::strerror(saved));
  return Status();
}

}  // namespace

Result<KeyRing> KeyRing::of(auth::Key signing, const auth::KeySet& retired) {
  if (!signing.has_private() || signing.algorithm() != auth::Algorithm::kEdDSA)
    return make_error(Code::kInvalidArgument, "the signing key must be an Ed25519 private key");
  KeyRing ring(std::move(signing));
  if (Status st = ring.keys_.add(ring.signing_.public_key()); !st.ok()) return make_error(st);
  for (const auth::Key& k : retired.keys())
    if (Status st = ring.keys_.add(k.public_key()); !st.ok())
      return make_error(Code::kInvalidArgument, "verification key " + k.kid() + ": " + std::string(st.message()));
  return ring;
}

Result<KeyRing> KeyRing::open(const std::string& signing_key_file, const std::string& verification_keys_file) {
  bool generated = false;
  struct stat st {};
  if (::stat(signing_key_file.c_str(), &st) != 0) {
    if (errno != ENOENT) return make_error(Code::kFailedPrecondition, "cannot stat " + signing_key_file);
    auto key = auth::Key::generate(auth::Algorithm::kEdDSA);
    if (!key) return make_error(key.error());
    if (Status s = create_private_file(signing_key_file, key->to_jwk(true) + "\n"); !s.ok()) return make_error(s);
    generated = true;
    if (::stat(signing_key_file.c_str(), &st) != 0)
      return make_error(Code::kFailedPrecondition, "cannot stat " + signing_key_file);
  }
  if ((st.st_mode & 077) != 0)
    return make_error(Code::kFailedPrecondition,
                      signing_key_file + " is readable by group or others: chmod 600 it (it holds a private key)");
  auto text = read_file(signing_key_file);
  if (!text) return make_error(text.error());
  auto key = auth::Key::from_jwk(*text);
  if (!key) return make_error(Code::kInvalidArgument, signing_key_file + ": " + std::string(key.error().message()));
  auth::KeySet retired;
  if (!verification_keys_file.empty()) {
    auto jwks = read_file(verification_keys_file);
    if (!jwks) return make_error(jwks.error());
    auto set = auth::KeySet::from_jwks(*jwks);
    if (!set)
      return make_error(Code::kInvalidArgument, verification_keys_file + ": " + std::string(set.error().message()));
    retired = std::move(*set);
  }
  auto ring = of(std::move(*key), retired);
  if (ring) ring->generated_ = generated;
  return ring;
}

KeyRing::Check KeyRing::verify(std::string_view kid, std::string_view canonical,
                               std::string_view signature) const noexcept {
  const auth::Key* key = keys_.find(kid);
  if (!key || key->algorithm() != auth::Algorithm::kEdDSA) return Check::kUnknownKid;
  return key->verify(canonical, signature) ? Check::kValid : Check::kBadSignature;
}

}  // namespace svckit::license
