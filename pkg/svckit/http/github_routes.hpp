#pragma once
// The GitHub API route set used by the Go router benchmarks (go-http-routing-benchmark): 203 routes,
// used by router_bench.cpp and router_test.cpp.
#include <string>
#include <string_view>
#include <utility>

#include "svckit/http/parser.hpp"

namespace svckit::http::testdata {

inline constexpr std::pair<Method, std::string_view> kGithubRoutes[] = {
    {Method::kGet, "/authorizations"}, {Method::kGet, "/authorizations/:id"}, {Method::kPost, "/authorizations"},
    {Method::kDelete, "/authorizations/:id"}, {Method::kGet, "/applications/:client_id/tokens/:access_token"},
    {Method::kDelete, "/applications/:client_id/tokens"}, {Method::kDelete, "/applications/:client_id/tokens/:access_token"},
    {Method::kGet, "/events"}, {Method::kGet, "/repos/:owner/:repo/events"}, {Method::kGet, "/networks/:owner/:repo/events"},
    {Method::kGet, "/orgs/:org/events"}, {Method::kGet, "/users/:user/received_events"},
    {Method::kGet, "/users/:user/received_events/public"}, {Method::kGet, "/users/:user/events"},
    {Method::kGet, "/users/:user/events/public"}, {Method::kGet, "/users/:user/events/orgs/:org"}, {Method::kGet, "/feeds"},
    {Method::kGet, "/notifications"}, {Method::kGet, "/repos/:owner/:repo/notifications"}, {Method::kPut, "/notifications"},
    {Method::kPut, "/repos/:owner/:repo/notifications"}, {Method::kGet, "/notifications/threads/:id"},
    {Method::kGet, "/notifications/threads/:id/subscription"}, {Method::kPut, "/notifications/threads/:id/subscription"},
    {Method::kDelete, "/notifications/threads/:id/subscription"}, {Method::kGet, "/repos/:owner/:repo/stargazers"},
    {Method::kGet, "/users/:user/starred"}, {Method::kGet, "/user/starred"}, {Method::kGet, "/user/starred/:owner/:repo"},
    {Method::kPut, "/user/starred/:owner/:repo"}, {Method::kDelete, "/user/starred/:owner/:repo"},
    {Method::kGet, "/repos/:owner/:repo/subscribers"}, {Method::kGet, "/users/:user/subscriptions"},
    {Method::kGet, "/user/subscriptions"}, {Method::kGet, "/repos/:owner/:repo/subscription"},
    {Method::kPut, "/repos/:owner/:repo/subscription"}, {Method::kDelete, "/repos/:owner/:repo/subscription"},
    {Method::kGet, "/user/subscriptions/:owner/:repo"}, {Method::kPut, "/user/subscriptions/:owner/:repo"},
    {Method::kDelete, "/user/subscriptions/:owner/:repo"}, {Method::kGet, "/users/:user/gists"}, {Method::kGet, "/gists"},
    {Method::kGet, "/gists/:id"}, {Method::kPost, "/gists"}, {Method::kPut, "/gists/:id/star"},
    {Method::kDelete, "/gists/:id/star"}, {Method::kGet, "/gists/:id/star"}, {Method::kPost, "/gists/:id/forks"},
    {Method::kDelete, "/gists/:id"}, {Method::kGet, "/repos/:owner/:repo/git/blobs/:sha"},
    {Method::kPost, "/repos/:owner/:repo/git/blobs"}, {Method::kGet, "/repos/:owner/:repo/git/commits/:sha"},
    {Method::kPost, "/repos/:owner/:repo/git/commits"}, {Method::kGet, "/repos/:owner/:repo/git/refs"},
    {Method::kPost, "/repos/:owner/:repo/git/refs"}, {Method::kGet, "/repos/:owner/:repo/git/tags/:sha"},
    {Method::kPost, "/repos/:owner/:repo/git/tags"}, {Method::kGet, "/repos/:owner/:repo/git/trees/:sha"},
    {Method::kPost, "/repos/:owner/:repo/git/trees"}, {Method::kGet, "/issues"}, {Method::kGet, "/user/issues"},
    {Method::kGet, "/orgs/:org/issues"}, {Method::kGet, "/repos/:owner/:repo/issues"},
    {Method::kGet, "/repos/:owner/:repo/issues/:number"}, {Method::kPost, "/repos/:owner/:repo/issues"},
    {Method::kGet, "/repos/:owner/:repo/assignees"}, {Method::kGet, "/repos/:owner/:repo/assignees/:assignee"},
    {Method::kGet, "/repos/:owner/:repo/issues/:number/comments"}, {Method::kPost, "/repos/:owner/:repo/issues/:number/comments"},
    {Method::kGet, "/repos/:owner/:repo/issues/:number/events"}, {Method::kGet, "/repos/:owner/:repo/labels"},
    {Method::kGet, "/repos/:owner/:repo/labels/:name"}, {Method::kPost, "/repos/:owner/:repo/labels"},
    {Method::kDelete, "/repos/:owner/:repo/labels/:name"}, {Method::kGet, "/repos/:owner/:repo/issues/:number/labels"},
    {Method::kPost, "/repos/:owner/:repo/issues/:number/labels"}, {Method::kDelete, "/repos/:owner/:repo/issues/:number/labels/:name"},
    {Method::kPut, "/repos/:owner/:repo/issues/:number/labels"}, {Method::kDelete, "/repos/:owner/:repo/issues/:number/labels"},
    {Method::kGet, "/repos/:owner/:repo/milestones/:number/labels"}, {Method::kGet, "/repos/:owner/:repo/milestones"},
    {Method::kGet, "/repos/:owner/:repo/milestones/:number"}, {Method::kPost, "/repos/:owner/:repo/milestones"},
    {Method::kDelete, "/repos/:owner/:repo/milestones/:number"}, {Method::kGet, "/emojis"}, {Method::kGet, "/gitignore/templates"},
    {Method::kGet, "/gitignore/templates/:name"}, {Method::kPost, "/markdown"}, {Method::kPost, "/markdown/raw"},
    {Method::kGet, "/meta"}, {Method::kGet, "/rate_limit"}, {Method::kGet, "/users/:user/orgs"}, {Method::kGet, "/user/orgs"},
    {Method::kGet, "/orgs/:org"}, {Method::kGet, "/orgs/:org/members"}, {Method::kGet, "/orgs/:org/members/:user"},
    {Method::kDelete, "/orgs/:org/members/:user"}, {Method::kGet, "/orgs/:org/public_members"},
    {Method::kGet, "/orgs/:org/public_members/:user"}, {Method::kPut, "/orgs/:org/public_members/:user"},
    {Method::kDelete, "/orgs/:org/public_members/:user"}, {Method::kGet, "/orgs/:org/teams"}, {Method::kGet, "/teams/:id"},
    {Method::kPost, "/orgs/:org/teams"}, {Method::kDelete, "/teams/:id"}, {Method::kGet, "/teams/:id/members"},
    {Method::kGet, "/teams/:id/members/:user"}, {Method::kPut, "/teams/:id/members/:user"},
    {Method::kDelete, "/teams/:id/members/:user"}, {Method::kGet, "/teams/:id/repos"},
    {Method::kGet, "/teams/:id/repos/:owner/:repo"}, {Method::kPut, "/teams/:id/repos/:owner/:repo"},
    {Method::kDelete, "/teams/:id/repos/:owner/:repo"}, {Method::kGet, "/user/teams"},
    {Method::kGet, "/repos/:owner/:repo/pulls"}, {Method::kGet, "/repos/:owner/:repo/pulls/:number"},
    {Method::kPost, "/repos/:owner/:repo/pulls"}, {Method::kGet, "/repos/:owner/:repo/pulls/:number/commits"},
    {Method::kGet, "/repos/:owner/:repo/pulls/:number/files"}, {Method::kGet, "/repos/:owner/:repo/pulls/:number/merge"},
    {Method::kPut, "/repos/:owner/:repo/pulls/:number/merge"}, {Method::kGet, "/repos/:owner/:repo/pulls/:number/comments"},
    {Method::kPut, "/repos/:owner/:repo/pulls/:number/comments"}, {Method::kGet, "/user/repos"},
    {Method::kGet, "/users/:user/repos"}, {Method::kGet, "/orgs/:org/repos"}, {Method::kGet, "/repositories"},
    {Method::kPost, "/user/repos"}, {Method::kPost, "/orgs/:org/repos"}, {Method::kGet, "/repos/:owner/:repo"},
    {Method::kDelete, "/repos/:owner/:repo"}, {Method::kGet, "/repos/:owner/:repo/contributors"},
    {Method::kGet, "/repos/:owner/:repo/languages"}, {Method::kGet, "/repos/:owner/:repo/teams"},
    {Method::kGet, "/repos/:owner/:repo/tags"}, {Method::kGet, "/repos/:owner/:repo/branches"},
    {Method::kGet, "/repos/:owner/:repo/branches/:branch"}, {Method::kGet, "/repos/:owner/:repo/collaborators"},
    {Method::kGet, "/repos/:owner/:repo/collaborators/:user"}, {Method::kPut, "/repos/:owner/:repo/collaborators/:user"},
    {Method::kDelete, "/repos/:owner/:repo/collaborators/:user"}, {Method::kGet, "/repos/:owner/:repo/comments"},
    {Method::kGet, "/repos/:owner/:repo/commits/:sha/comments"}, {Method::kPost, "/repos/:owner/:repo/commits/:sha/comments"},
    {Method::kGet, "/repos/:owner/:repo/comments/:id"}, {Method::kDelete, "/repos/:owner/:repo/comments/:id"},
    {Method::kGet, "/repos/:owner/:repo/commits"}, {Method::kGet, "/repos/:owner/:repo/commits/:sha"},
    {Method::kGet, "/repos/:owner/:repo/readme"}, {Method::kGet, "/repos/:owner/:repo/keys"},
    {Method::kGet, "/repos/:owner/:repo/keys/:id"}, {Method::kPost, "/repos/:owner/:repo/keys"},
    {Method::kDelete, "/repos/:owner/:repo/keys/:id"}, {Method::kGet, "/repos/:owner/:repo/downloads"},
    {Method::kGet, "/repos/:owner/:repo/downloads/:id"}, {Method::kDelete, "/repos/:owner/:repo/downloads/:id"},
    {Method::kGet, "/repos/:owner/:repo/forks"}, {Method::kPost, "/repos/:owner/:repo/forks"},
    {Method::kGet, "/repos/:owner/:repo/hooks"}, {Method::kGet, "/repos/:owner/:repo/hooks/:id"},
    {Method::kPost, "/repos/:owner/:repo/hooks"}, {Method::kPost, "/repos/:owner/:repo/hooks/:id/tests"},
    {Method::kDelete, "/repos/:owner/:repo/hooks/:id"}, {Method::kPost, "/repos/:owner/:repo/merges"},
    {Method::kGet, "/repos/:owner/:repo/releases"}, {Method::kGet, "/repos/:owner/:repo/releases/:id"},
    {Method::kPost, "/repos/:owner/:repo/releases"}, {Method::kDelete, "/repos/:owner/:repo/releases/:id"},
    {Method::kGet, "/repos/:owner/:repo/releases/:id/assets"}, {Method::kGet, "/repos/:owner/:repo/stats/contributors"},
    {Method::kGet, "/repos/:owner/:repo/stats/commit_activity"}, {Method::kGet, "/repos/:owner/:repo/stats/code_frequency"},
    {Method::kGet, "/repos/:owner/:repo/stats/participation"}, {Method::kGet, "/repos/:owner/:repo/stats/punch_card"},
    {Method::kGet, "/repos/:owner/:repo/statuses/:ref"}, {Method::kPost, "/repos/:owner/:repo/statuses/:ref"},
    {Method::kGet, "/search/repositories"}, {Method::kGet, "/search/code"}, {Method::kGet, "/search/issues"},
    {Method::kGet, "/search/users"}, {Method::kGet, "/legacy/issues/search/:owner/:repository/:state/:keyword"},
    {Method::kGet, "/legacy/repos/search/:keyword"}, {Method::kGet, "/legacy/user/search/:keyword"},
    {Method::kGet, "/legacy/user/email/:email"}, {Method::kGet, "/users/:user"}, {Method::kGet, "/user"},
    {Method::kGet, "/users"}, {Method::kGet, "/user/emails"}, {Method::kPost, "/user/emails"},
    {Method::kDelete, "/user/emails"}, {Method::kGet, "/users/:user/followers"}, {Method::kGet, "/user/followers"},
    {Method::kGet, "/users/:user/following"}, {Method::kGet, "/user/following"}, {Method::kGet, "/user/following/:user"},
    {Method::kGet, "/users/:user/following/:target_user"}, {Method::kPut, "/user/following/:user"},
    {Method::kDelete, "/user/following/:user"}, {Method::kGet, "/users/:user/keys"}, {Method::kGet, "/user/keys"},
    {Method::kGet, "/user/keys/:id"}, {Method::kPost, "/user/keys"}, {Method::kDelete, "/user/keys/:id"},
};

// Turns a pattern into a concrete path: ":name" → "name_value".
inline std::string concrete_path(std::string_view pattern) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size();) {
    if (pattern[i] == ':') {
      auto end = pattern.find('/', i);
      if (end == std::string_view::npos) end = pattern.size();
      out += pattern.substr(i + 1, end - i - 1);
      out += "_value";
      i = end;
    } else {
      out += pattern[i++];
    }
  }
  return out;
}

}  // namespace svckit::http::testdata
