// bookshelf: POST /v1/books, GET /v1/books/:id, GET /v1/books?author=...&limit=... on SQLite, with
// typed JSON and query binding, a config key of its own, a deadline on every database call, and the
// App runtime (database, migrations, readiness, metrics, traces, graceful stop).
#include <charconv>
#include <chrono>
#include <string>
#include <svckit/app/app.hpp>
#include <svckit/db/settings.hpp>
#include <svckit/http/message.hpp>

namespace {

using svckit::Code;
using svckit::Status;
using svckit::Task;
using svckit::http::Request;
using svckit::http::Response;

struct Book {
  std::int64_t id = 0;
  std::string title;
  std::string author;
  int year = 0;
  static void json_schema(svckit::json::Schema<Book>& s) {
    s.field("id", &Book::id);
    s.field("title", &Book::title).required().length(1, 200);
    s.field("author", &Book::author).required().length(1, 100);
    s.field("year", &Book::year).range(0, 3000);
  }
};

struct ListQuery {
  std::string author;
  int limit = 20;
  static void json_schema(svckit::json::Schema<ListQuery>& s) {
    s.field("author", &ListQuery::author).required();
    s.field("limit", &ListQuery::limit).range(1, 100);
  }
};

struct ShelfSettings {
  std::chrono::milliseconds db_timeout{300};
  static void describe(svckit::config::Binder<ShelfSettings>& b) {
    b.field("db_timeout", &ShelfSettings::db_timeout)
        .range(std::chrono::milliseconds(1), std::chrono::milliseconds(60000))
        .doc("deadline of each database call");
  }
};

Status read_book(const svckit::db::Row& row, Book& b) {
  return row.scan(b.id, b.title, b.author, b.year);
}

}  // namespace

int main(int argc, char** argv) {
  svckit::app::App app({.name = "bookshelf", .version = "1.0.0"});
  app.define<svckit::db::DbSettings>("db");
  app.define<ShelfSettings>("shelf");
  if (auto exit = app.init(argc, argv)) return *exit;
  const auto shelf = app.settings<ShelfSettings>("shelf");
  auto opened = app.database();
  if (!opened) {
    std::fprintf(stderr, "bookshelf: refusing to start: %s\n", opened.error().to_string().c_str());
    return 2;
  }
  std::shared_ptr<svckit::db::Database> db = *opened;

  app.router().post("/v1/books", [db, shelf](Request& req, Response& res) -> Task<void> {
    static const std::string insert = "INSERT INTO books (title, author, year) VALUES ($1, $2, $3) RETURNING id";
    auto in = svckit::http::bind_json<Book>(req);
    if (!in) co_return res.error(in.error());
    svckit::Context ctx = req.ctx.with_timeout(shelf.db_timeout);
    svckit::db::Params args{in->title, in->author, in->year};
    auto row = co_await db->query_one(ctx, insert, args);
    if (!row) co_return res.error(row.error());
    in->id = *row->get<std::int64_t>(0);
    res.set_header("Location", "/v1/books/" + std::to_string(in->id));
    res.json(201, *in);
  });

  app.router().get("/v1/books/:id", [db, shelf](Request& req, Response& res) -> Task<void> {
    static const std::string select = "SELECT id, title, author, year FROM books WHERE id = $1";
    std::string_view raw = req.param("id");
    std::int64_t id = 0;
    auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), id);
    if (ec != std::errc() || end != raw.data() + raw.size())
      co_return res.error(Status(Code::kInvalidArgument, "BAD_ID", "id must be an integer"));
    svckit::Context ctx = req.ctx.with_timeout(shelf.db_timeout);
    svckit::db::Params args{id};
    auto row = co_await db->query_one(ctx, select, args);
    if (!row && row.error().code() == Code::kNotFound)
      co_return res.error(Status(Code::kNotFound, "BOOK_NOT_FOUND", "book " + std::to_string(id) + " not found"));
    if (!row) co_return res.error(row.error());
    Book b;
    if (Status st = read_book(*row, b); !st.ok()) co_return res.error(st);
    res.json(200, b);
  });

  app.router().get("/v1/books", [db, shelf](Request& req, Response& res) -> Task<void> {
    static const std::string list = "SELECT id, title, author, year FROM books WHERE author = $1 ORDER BY id LIMIT $2";
    auto q = svckit::http::bind_query<ListQuery>(req);
    if (!q) co_return res.error(q.error());
    svckit::Context ctx = req.ctx.with_timeout(shelf.db_timeout);
    svckit::db::Params args{q->author, q->limit};
    auto rows = co_await db->query(ctx, list, args);
    if (!rows) co_return res.error(rows.error());
    std::vector<Book> books;
    for (auto row : *rows) {
      if (Status st = read_book(row, books.emplace_back()); !st.ok()) co_return res.error(st);
    }
    res.json(200, books);
  });
  return app.run();
}
