#pragma once
// The HTTP layer: routes, request binding and answers in svckit's error format. The business rules
// are the ItemService's.
//   POST   /v1/items            create   (201, Location, ETag)
//   GET    /v1/items            list     (?limit=1..100&cursor=...; {{name_snake}}.page_size by default)
//   GET    /v1/items/:id        read
//   PUT    /v1/items/:id        replace  (name, description)
//   DELETE /v1/items/:id        delete   (204)
//   GET    /v1/greeting         {{name_snake}}.greeting, as the configuration says now
#include <memory>
#include <svckit/http/router.hpp>

#include "{{name}}/service.hpp"
#include "{{name}}/settings.hpp"

namespace {{name_snake}} {

void mount_http(svckit::http::Router& router, std::shared_ptr<const ItemService> items,
                std::shared_ptr<const Live<Settings>> settings);

}  // namespace {{name_snake}}
