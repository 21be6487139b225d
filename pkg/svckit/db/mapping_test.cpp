// Row mapping (query_as, query_one_as, stream_as) on SQLite and a real PostgreSQL: every mapping rule
// and each error it reports.
#include <gtest/gtest.h>

#include <array>
#include <map>

#include "svckit/db/database.hpp"
#include "svckit/testing/db_fixture.hpp"

using namespace std::chrono_literals;

namespace svckit::db {
namespace {

enum class Standing : std::uint8_t { kActive = 1, kSuspended, kRevoked };
constexpr auto json_names(Standing) {
  return std::array<std::pair<Standing, std::string_view>, 3>{
      {{Standing::kActive, "active"}, {Standing::kSuspended, "suspended"}, {Standing::kRevoked, "revoked"}}};
}

struct Holder {
  std::string name;
  std::optional<std::string> country;
  static void json_schema(json::Schema<Holder>& s) {
    s.field("name", &Holder::name).required().length(1, 50);
    s.field("country", &Holder::country);
  }
};

// Every kind of member: natives, enums, a nested struct, lists and maps through JSON, Raw, optionals.
struct Licence {
  std::int64_t id = 0;
  std::string number;
  std::int32_t quota = 0;
  std::int8_t level = 0;
  bool active = false;
  double fee = 0;
  float weight = 0;
  Standing standing = Standing::kActive;
  std::optional<Standing> previous;
  Timestamp issued_at;
  std::optional<Timestamp> expires_at;
  Uuid uid;
  Holder holder;
  std::optional<Holder> proxy;
  std::vector<std::string> tags;
  std::map<std::string, int> limits;
  json::Raw extra;
  std::optional<std::string> note;
  Bytes secret;  // rows only
  static void json_schema(json::Schema<Licence>& s) {
    s.field("id", &Licence::id);
    s.field("number", &Licence::number).required();
    s.field("quota", &Licence::quota);
    s.field("level", &Licence::level);
    s.field("active", &Licence::active);
    s.field("fee", &Licence::fee);
    s.field("weight", &Licence::weight);
    s.field("standing", &Licence::standing);
    s.field("previous", &Licence::previous);
    s.field("issued_at", &Licence::issued_at);
    s.field("expires_at", &Licence::expires_at);
    s.field("uid", &Licence::uid);
    s.field("holder", &Licence::holder).required();
    s.field("proxy", &Licence::proxy);
    s.field("tags", &Licence::tags);
    s.field("limits", &Licence::limits);
    s.field("extra", &Licence::extra);
    s.field("note", &Licence::note);
  }
  static void row_schema(RowSchema<Licence>& s) {
    s.column("holder", "holder_doc");
    s.field("secret", &Licence::secret);
  }
};

struct Strict {
  std::int64_t id = 0;
  std::string name;
  static void json_schema(json::Schema<Strict>& s) {
    s.field("id", &Strict::id);
    s.field("name", &Strict::name);
  }
  static void row_schema(RowSchema<Strict>& s) { s.reject_unknown_columns().name("StrictRow"); }
};

// Rows only: no JSON description at all.
struct Credential {
  std::int64_t user_id = 0;
  Bytes hash;
  std::optional<Timestamp> rotated_at;
  static void row_schema(RowSchema<Credential>& s) {
    s.field("user_id", &Credential::user_id);
    s.field("hash", &Credential::hash);
    s.field("rotated_at", &Credential::rotated_at);
  }
};

// A JSON field that is computed, not stored.
struct WithLink {
  std::int64_t id = 0;
  std::string link;
  static void json_schema(json::Schema<WithLink>& s) {
    s.field("id", &WithLink::id);
    s.field("link", &WithLink::link);
  }
  static void row_schema(RowSchema<WithLink>& s) { s.skip("link"); }
};

class MappingTest : public DbTest {
 protected:
  void create_licences() {
    ASSERT_TRUE(exec(ddl("CREATE TABLE licences (id bigint PRIMARY KEY, number text NOT NULL, quota int, level int, "
                         "active boolean, fee double precision, weight real, standing text, previous text, "
                         "issued_at timestamptz, expires_at timestamptz, uid uuid, holder_doc jsonb, proxy jsonb, "
                         "tags jsonb, limits jsonb, extra jsonb, note text, secret bytea)",
                         "CREATE TABLE licences (id INTEGER PRIMARY KEY, number TEXT NOT NULL, quota INTEGER, "
                         "level INTEGER, active BOOLEAN, fee REAL, weight REAL, standing TEXT, previous TEXT, "
                         "issued_at TEXT, expires_at TEXT, uid TEXT, holder_doc TEXT, proxy TEXT, tags TEXT, "
                         "limits TEXT, extra TEXT, note TEXT, secret BLOB)"))
                    .ok());
  }
  Status insert_licence(std::int64_t id, std::string holder_doc = R"({"name":"Ann","country":"NO"})") {
    auto r = query(
        "INSERT INTO licences VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, "
        "$19)",
        {id, "L-" + std::to_string(id), 70000, 3, true, 12.5, 0.5, "suspended", nullptr,
         *parse_timestamp("2026-01-02T03:04:05.123456Z"), nullptr, *Uuid::parse("6f9619ff-8b86-d011-b42d-00c04fc964ff"),
         Json{holder_doc}, nullptr, Json{R"(["a","b c"])"}, Json{R"({"cars":2})"}, Json{R"({"k":[1,2]})"}, nullptr,
         Bytes{std::string("\x00\xff", 2)}});
    return r ? Status() : r.error();
  }
  template <class T>
  Result<std::vector<T>> query_as(std::string sql, Params params = {}) {
    return run([&]() -> Task<Result<std::vector<T>>> {
      co_return co_await db_->query_as<T>(Context().with_timeout(10s), sql, params);
    });
  }
  template <class T>
  Result<T> query_one_as(std::string sql, Params params = {}) {
    return run([&]() -> Task<Result<T>> {
      co_return co_await db_->query_one_as<T>(Context().with_timeout(10s), sql, params);
    });
  }
};

TEST_P(MappingTest, EveryMemberKindMapsByColumnName) {
  create_licences();
  ASSERT_TRUE(insert_licence(1).ok());
  // Columns in another order than the fields, and one no field maps (ignored).
  auto got = query_as<Licence>(
      "SELECT secret, note, extra, limits, tags, proxy, holder_doc, uid, expires_at, issued_at, previous, standing, "
      "weight, fee, active, level, quota, number, id, 42 AS unrelated FROM licences");
  ASSERT_TRUE(got) << got.error().to_string();
  ASSERT_EQ(got->size(), 1u);
  const Licence& l = (*got)[0];
  EXPECT_EQ(l.id, 1);
  EXPECT_EQ(l.number, "L-1");
  EXPECT_EQ(l.quota, 70000);
  EXPECT_EQ(l.level, 3);
  EXPECT_TRUE(l.active);
  EXPECT_EQ(l.fee, 12.5);
  EXPECT_EQ(l.weight, 0.5f);
  EXPECT_EQ(l.standing, Standing::kSuspended);
  EXPECT_FALSE(l.previous);
  EXPECT_EQ(format_timestamp(l.issued_at), "2026-01-02T03:04:05.123456Z");
  EXPECT_FALSE(l.expires_at);
  EXPECT_EQ(l.uid.str(), "6f9619ff-8b86-d011-b42d-00c04fc964ff");
  EXPECT_EQ(l.holder.name, "Ann");
  EXPECT_EQ(l.holder.country, "NO");
  EXPECT_FALSE(l.proxy);
  EXPECT_EQ(l.tags, (std::vector<std::string>{"a", "b c"}));
  EXPECT_EQ(l.limits, (std::map<std::string, int>{{"cars", 2}}));
  EXPECT_NE(l.extra.text.find("[1"), std::string::npos);
  EXPECT_FALSE(l.note);
  EXPECT_EQ(l.secret.data, std::string("\x00\xff", 2));
  // The same struct is still the JSON body: the row-only member is not in it.
  std::string body = json::encode(l);
  EXPECT_NE(body.find(R"("holder":{"name":"Ann","country":"NO"})"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("standing":"suspended")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("issued_at":"2026-01-02T03:04:05.123456Z")"), std::string::npos) << body;
  EXPECT_EQ(body.find("secret"), std::string::npos) << body;
}

TEST_P(MappingTest, BoolsFromZeroOneAndIntegersAreRangeChecked) {
  create_licences();
  ASSERT_TRUE(insert_licence(1).ok());
  struct Flag {
    bool active = false;
    std::int8_t level = 0;
    static void json_schema(json::Schema<Flag>& s) {
      s.field("active", &Flag::active);
      s.field("level", &Flag::level);
    }
  };
  auto ok = query_as<Flag>("SELECT active, level FROM licences");
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_TRUE((*ok)[0].active);
  auto zero = query_as<Flag>(ddl("SELECT false AS active, 127 AS level", "SELECT 0 AS active, 127 AS level"));
  ASSERT_TRUE(zero) << zero.error().to_string();
  EXPECT_FALSE((*zero)[0].active);
  EXPECT_EQ((*zero)[0].level, 127);
  auto big = query_as<Flag>(
      ddl("SELECT true AS active, quota AS level FROM licences", "SELECT 1 AS active, quota AS level FROM licences"));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code(), Code::kInternal);
  EXPECT_EQ(big.error().reason(), "DECODE");
  EXPECT_EQ(big.error().message(),
            "Flag.level (column \"level\"): cannot read as integer: out of range for the target type");
  EXPECT_EQ(big.error().metadata_value("struct"), "Flag");
  EXPECT_EQ(big.error().metadata_value("field"), "level");
  EXPECT_EQ(big.error().metadata_value("column"), "level");
  auto text = query_as<Flag>(ddl("SELECT true AS active, 'many' AS level", "SELECT 1 AS active, 'many' AS level"));
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().message(), "Flag.level (column \"level\"): cannot read as integer: many");
}

TEST_P(MappingTest, NullGoesIntoOptionalsOnlyAndErrorsNameStructFieldAndColumn) {
  create_licences();
  ASSERT_TRUE(insert_licence(1).ok());
  auto null_number = query_as<Licence>(
      "SELECT id, NULL AS number, quota, level, active, fee, weight, standing, issued_at, uid, holder_doc, tags, "
      "limits, extra, secret FROM licences");
  ASSERT_FALSE(null_number);
  EXPECT_EQ(null_number.error().message(),
            "Licence.number (column \"number\"): cannot read as string: NULL (decode into std::optional)");
  // NULL into a non-optional JSON member.
  ASSERT_TRUE(query("UPDATE licences SET holder_doc = NULL"));
  auto null_holder = query_as<Licence>("SELECT * FROM licences");
  ASSERT_FALSE(null_holder);
  EXPECT_EQ(null_holder.error().message(),
            "Licence.holder (column \"holder_doc\"): NULL (make the field std::optional)");
  // Optional members whose columns are not selected stay empty.
  struct Partial {
    std::int64_t id = 0;
    std::optional<std::string> note = "untouched";
    std::optional<Holder> proxy;
    static void json_schema(json::Schema<Partial>& s) {
      s.field("id", &Partial::id);
      s.field("note", &Partial::note);
      s.field("proxy", &Partial::proxy);
    }
  };
  auto partial = query_as<Partial>("SELECT id FROM licences");
  ASSERT_TRUE(partial) << partial.error().to_string();
  EXPECT_EQ((*partial)[0].note, "untouched");
  EXPECT_FALSE((*partial)[0].proxy);
}

TEST_P(MappingTest, ColumnsThatDoNotFitTheStructAreNamed) {
  create_licences();
  ASSERT_TRUE(insert_licence(1).ok());
  auto missing = query_as<Licence>("SELECT id, quota FROM licences");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Code::kInternal);
  EXPECT_EQ(missing.error().reason(), "ROW_MAPPING");
  EXPECT_EQ(missing.error().message(),
            "Licence.number (column \"number\"): the result has no such column (it has: id, quota)");
  // Even without rows: the columns are checked once per result, not per row.
  auto empty = query_as<Licence>("SELECT id FROM licences WHERE id < 0");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().reason(), "ROW_MAPPING");
  // A renamed column is looked for under its column name.
  auto renamed = query_as<Licence>(
      "SELECT id, number, quota, level, active, fee, weight, standing, issued_at, uid, holder_doc AS holder, tags, "
      "limits, extra, secret FROM licences");
  ASSERT_FALSE(renamed);
  EXPECT_EQ(renamed.error().metadata_value("column"), "holder_doc");
  EXPECT_EQ(renamed.error().metadata_value("field"), "holder");
  // Unknown columns are ignored unless the struct rejects them.
  auto strict = query_as<Strict>("SELECT id, number AS name, quota FROM licences");
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().message(),
            "StrictRow: the result has a column \"quota\" that no field maps (the struct rejects unknown columns)");
  auto fits = query_as<Strict>("SELECT id, number AS name FROM licences");
  ASSERT_TRUE(fits) << fits.error().to_string();
  EXPECT_EQ((*fits)[0].name, "L-1");
  // Two columns of one name (a join) cannot both feed a field.
  auto twice = query_as<Strict>("SELECT id, number AS name, id FROM licences");
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().message(), "StrictRow.id (column \"id\"): the result has two columns of this name");
  // A computed JSON field with no column is skipped.
  auto linked = query_as<WithLink>("SELECT id FROM licences");
  ASSERT_TRUE(linked) << linked.error().to_string();
  EXPECT_EQ((*linked)[0].id, 1);
}

TEST_P(MappingTest, JsonColumnsDecodeThroughTheJsonCodecWithItsRules) {
  create_licences();
  ASSERT_TRUE(insert_licence(1, R"({"name":""})").ok());
  auto rule = query_as<Licence>("SELECT * FROM licences");
  ASSERT_FALSE(rule);
  EXPECT_EQ(rule.error().reason(), "DECODE");
  EXPECT_EQ(rule.error().message(),
            "Licence.holder (column \"holder_doc\"): holder.name: must be at least 1 characters");
  ASSERT_TRUE(query("UPDATE licences SET holder_doc = $1", {Json{R"({"name":"Bo","country":7})"}}));
  auto type = query_as<Licence>("SELECT * FROM licences");
  ASSERT_FALSE(type);
  EXPECT_EQ(type.error().message(),
            "Licence.holder (column \"holder_doc\"): holder.country: expected string, got number");
  ASSERT_TRUE(query("UPDATE licences SET standing = 'expired', holder_doc = $1", {Json{R"({"name":"Bo"})"}}));
  auto name = query_as<Licence>("SELECT * FROM licences");
  ASSERT_FALSE(name);
  EXPECT_EQ(name.error().message(),
            "Licence.standing (column \"standing\"): standing: must be one of: active, suspended, revoked");
  if (!postgres()) {  // SQLite: TEXT that is not JSON where JSON is expected
    ASSERT_TRUE(query("UPDATE licences SET standing = 'active', extra = '{broken'"));
    auto broken = query_as<Licence>("SELECT * FROM licences");
    ASSERT_FALSE(broken);
    EXPECT_NE(broken.error().message().find("Licence.extra (column \"extra\"): not JSON: malformed JSON"),
              std::string_view::npos)
        << broken.error().message();
  }
}

TEST_P(MappingTest, QueryOneAsAndScalars) {
  create_licences();
  ASSERT_TRUE(insert_licence(1).ok());
  ASSERT_TRUE(insert_licence(2).ok());
  auto one = query_one_as<Licence>("SELECT * FROM licences WHERE id = $1", {2});
  ASSERT_TRUE(one) << one.error().to_string();
  EXPECT_EQ(one->number, "L-2");
  auto none = query_one_as<Licence>("SELECT * FROM licences WHERE id = $1", {3});
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), Code::kNotFound);
  EXPECT_EQ(none.error().reason(), "NO_ROWS");
  auto many = query_one_as<Licence>("SELECT * FROM licences");
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().reason(), "TOO_MANY_ROWS");
  auto count = query_one_as<std::int64_t>("SELECT count(*) FROM licences");
  ASSERT_TRUE(count) << count.error().to_string();
  EXPECT_EQ(*count, 2);
  auto numbers = query_as<std::string>("SELECT number FROM licences ORDER BY id");
  ASSERT_TRUE(numbers) << numbers.error().to_string();
  EXPECT_EQ(*numbers, (std::vector<std::string>{"L-1", "L-2"}));
  auto notes = query_as<std::optional<std::string>>("SELECT note FROM licences");
  ASSERT_TRUE(notes) << notes.error().to_string();
  EXPECT_FALSE((*notes)[0]);
  auto two = query_as<std::int64_t>("SELECT id, quota FROM licences");
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().reason(), "ROW_MAPPING");
}

TEST_P(MappingTest, RowOnlyStructsAndTheirTypes) {
  ASSERT_TRUE(
      exec(ddl("CREATE TABLE credentials (user_id bigint PRIMARY KEY, hash bytea NOT NULL, rotated_at timestamptz)",
               "CREATE TABLE credentials (user_id INTEGER PRIMARY KEY, hash BLOB NOT NULL, rotated_at TEXT)"))
          .ok());
  ASSERT_TRUE(query("INSERT INTO credentials VALUES ($1, $2, $3)", {7, Bytes{"\x01\x02"}, nullptr}));
  auto c = query_one_as<Credential>("SELECT * FROM credentials");
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->user_id, 7);
  EXPECT_EQ(c->hash.data, "\x01\x02");
  EXPECT_FALSE(c->rotated_at);
}

TEST_P(MappingTest, StreamAsDeliversStructsAndStopsOnAMappingError) {
  create_licences();
  for (int i = 1; i <= 50; ++i) ASSERT_TRUE(insert_licence(i).ok());
  const std::string sql = "SELECT * FROM licences ORDER BY id";
  std::vector<std::int64_t> ids;
  auto n = run([&]() -> Task<Result<std::uint64_t>> {
    co_return co_await db_->stream_as<Licence>(Context().with_timeout(10s), sql, {}, [&](Licence&& l) -> Status {
      ids.push_back(l.id);
      return Status();
    });
  });
  ASSERT_TRUE(n) << n.error().to_string();
  EXPECT_EQ(*n, 50u);
  ASSERT_EQ(ids.size(), 50u);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(ids.back(), 50);
  // A value that does not fit stops the stream with the mapping's error.
  ASSERT_TRUE(query("UPDATE licences SET standing = 'lost' WHERE id = 10"));
  std::size_t seen = 0;
  auto bad = run([&]() -> Task<Result<std::uint64_t>> {
    co_return co_await db_->stream_as<Licence>(Context().with_timeout(10s), sql, {}, [&](Licence&&) -> Status {
      ++seen;
      return Status();
    });
  });
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().metadata_value("field"), "standing");
  EXPECT_EQ(seen, 9u);
  // Inside a transaction, seeing its own writes.
  std::vector<std::string> numbers;
  Status st = run([&]() -> Task<Status> {
    co_return co_await db_->transaction(Context().with_timeout(10s), [&](Tx& tx) -> Task<Status> {
      auto n = co_await tx.exec(Context(), "UPDATE licences SET number = 'T-' || number WHERE id <= 2");
      if (!n) co_return n.error();
      const std::string q = "SELECT number FROM licences WHERE id <= 2 ORDER BY id";
      auto r = co_await tx.stream_as<std::string>(Context(), q, {}, [&](std::string&& s) -> Status {
        numbers.push_back(std::move(s));
        return Status();
      });
      if (!r) co_return r.error();
      auto one = co_await tx.query_one_as<Licence>(Context(), "SELECT * FROM licences WHERE id = 1");
      if (!one) co_return one.error();
      EXPECT_EQ(one->number, "T-L-1");
      co_return Status();
    });
  });
  ASSERT_TRUE(st.ok()) << st.to_string();
  EXPECT_EQ(numbers, (std::vector<std::string>{"T-L-1", "T-L-2"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, MappingTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

struct Twice {
  std::int64_t a = 0, b = 0;
  static void json_schema(json::Schema<Twice>& s) {
    s.field("a", &Twice::a);
    s.field("b", &Twice::b);
  }
  static void row_schema(RowSchema<Twice>& s) { s.column("b", "a"); }
};
struct Unknown {
  std::int64_t a = 0;
  static void json_schema(json::Schema<Unknown>& s) { s.field("a", &Unknown::a); }
  static void row_schema(RowSchema<Unknown>& s) { s.column("nope", "x"); }
};

TEST(RowSchema, MistakesInADescriptionAreProgrammerErrors) {
  EXPECT_THROW(row_map_of<Twice>(), std::logic_error);
  EXPECT_THROW(row_map_of<Unknown>(), std::logic_error);
}

}  // namespace
}  // namespace svckit::db
