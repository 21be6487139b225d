// The client's TLS session cache (detail/tls.hpp): OpenSSL hands each new session (a TLS 1.3 ticket
// arrives after the handshake, with the first response) to the cache the connection was prepared
// with, found through the SSL's ex_data.
#include "svckit/http/detail/tls.hpp"

namespace svckit::http::detail {

namespace {

struct Tag {
  std::weak_ptr<ClientSessions> sessions;
  std::string key;
};

void free_tag(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<Tag*>(ptr);
}

int tag_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_tag);
  return index;
}

int on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* tag = static_cast<Tag*>(SSL_get_ex_data(ssl, tag_index()));
  if (tag && SSL_SESSION_is_resumable(session))
    if (auto sessions = tag->sessions.lock()) sessions->put(tag->key, session);
  return 0;  // OpenSSL keeps its reference; the cache holds a copy
}

}  // namespace

ClientSessions::~ClientSessions() {
  for (auto& [key, list] : held_)
    for (SSL_SESSION* s : list) SSL_SESSION_free(s);
}

void ClientSessions::enable(SSL_CTX* ctx) {
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, on_new_session);
}

void ClientSessions::prepare(const std::shared_ptr<ClientSessions>& self, SSL* ssl, const std::string& key) {
  SSL_SESSION* offer = nullptr;
  {
    std::lock_guard lock(self->mu_);
    if (auto it = self->held_.find(key); it != self->held_.end() && !it->second.empty()) {
      offer = it->second.back();  // the newest: the least likely to have expired
      it->second.pop_back();
      if (it->second.empty()) self->held_.erase(it);
    }
  }
  if (offer) {
    SSL_set_session(ssl, offer);  // takes its own reference
    SSL_SESSION_free(offer);
  }
  SSL_set_ex_data(ssl, tag_index(), new Tag{self, key});
}

void ClientSessions::put(const std::string& key, SSL_SESSION* original) {
  // A copy: OpenSSL marks the connection's own session object not resumable when the connection is
  // freed without a close_notify (a peer that closed first, an error), which would spoil ours.
  SSL_SESSION* session = SSL_SESSION_dup(original);
  if (!session) return;
  std::vector<SSL_SESSION*> dropped;
  {
    std::lock_guard lock(mu_);
    if (!held_.contains(key) && held_.size() >= kMaxHosts) {
      auto victim = held_.begin();
      dropped = std::move(victim->second);
      held_.erase(victim);
    }
    auto& list = held_[key];
    if (list.size() >= kPerHost) {
      dropped.push_back(list.front());
      list.erase(list.begin());
    }
    list.push_back(session);
  }
  for (SSL_SESSION* s : dropped) SSL_SESSION_free(s);
}

std::size_t ClientSessions::held(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = held_.find(key);
  return it == held_.end() ? 0 : it->second.size();
}

}  // namespace svckit::http::detail
