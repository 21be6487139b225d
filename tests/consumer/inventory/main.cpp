// inventory: GetItem (unary) and ListItems (server streaming, a coroutine over a query) on SQLite,
// gRPC only (no HTTP traffic port), health following readiness, through the App runtime.
#include <svckit/app/app.hpp>
#include <svckit/db/settings.hpp>
#include <svckit/grpc/grpc.hpp>
#include <svckit/grpc/service.hpp>

#include "inventory/v1/inventory.grpc.pb.h"

namespace {

using inventory::v1::GetItemRequest;
using inventory::v1::Item;
using inventory::v1::ListItemsRequest;
using svckit::Code;
using svckit::Status;
using svckit::Task;

Status read_item(const svckit::db::Row& row, Item& it) {
  std::int64_t id = 0, quantity = 0;
  std::string name;
  if (Status st = row.scan(id, name, quantity); !st.ok()) return st;
  it.set_id(id);
  it.set_name(name);
  it.set_quantity(quantity);
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  svckit::app::App app({.name = "inventory", .version = "1.0.0", .http = false});
  app.define<svckit::db::DbSettings>("db");
  app.define<svckit::grpc::ServerSettings>("grpc");
  if (auto exit = app.init(argc, argv)) return *exit;
  auto opened = app.database();
  if (!opened) {
    std::fprintf(stderr, "inventory: refusing to start: %s\n", opened.error().to_string().c_str());
    return 2;
  }
  std::shared_ptr<svckit::db::Database> db = *opened;

  svckit::grpc::Service items("inventory.v1.Inventory");
  items.unary_task<GetItemRequest, Item>(
      "GetItem", app.runtime(), [db](svckit::Context ctx, const GetItemRequest& in) -> Task<svckit::Result<Item>> {
        static const std::string sql = "SELECT id, name, quantity FROM items WHERE id = $1";
        svckit::db::Params args{in.id()};
        auto row = co_await db->query_one(ctx, sql, args);
        if (!row && row.error().code() == Code::kNotFound)
          co_return svckit::make_error(
              Status(Code::kNotFound, "ITEM_NOT_FOUND", "item " + std::to_string(in.id()) + " not found"));
        if (!row) co_return std::unexpected(row.error());
        Item it;
        if (Status st = read_item(*row, it); !st.ok()) co_return std::unexpected(st);
        co_return it;
      });
  items.server_stream_task<ListItemsRequest, Item>(
      "ListItems", app.runtime(),
      [db](const ListItemsRequest& in, svckit::grpc::Stream<ListItemsRequest, Item>& out) -> Task<Status> {
        static const std::string sql = "SELECT id, name, quantity FROM items WHERE quantity >= $1 ORDER BY id";
        svckit::db::Params args{in.min_quantity()};
        auto rows = co_await db->query(out.context(), sql, args);
        if (!rows) co_return rows.error();
        for (auto row : *rows) {
          Item it;
          if (Status st = read_item(row, it); !st.ok()) co_return st;
          if (Status st = co_await out.write(it); !st.ok()) co_return st;
        }
        co_return Status();
      });

  svckit::grpc::Server server(app.settings<svckit::grpc::ServerSettings>("grpc"), app.logger());
  server.add_service(&items);
  app.serve(server);  // started, health-checked, shed and stopped with the App
  return app.run();
}
