#include "svckit/json/json.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>

namespace svckit::json {
namespace {

// ---------- reader: the grammar ----------

bool parses(std::string_view text) {
  Reader r(text);
  return r.skip() && r.finish();
}

TEST(JsonReader, AcceptsValidDocuments) {
  for (std::string_view ok : {R"({})", R"([])", R"("")", "0", "-0", "1.5e10", "-1E-2", "0.0", "true", "false", "null",
                              R"( {"a" : [1, 2.5, {"b": null}], "c": "\u00e9\ud83d\ude00"} )", R"([[[[]]]])",
                              "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", R"("\"\\\/\b\f\n\r\t")", " \t\r\n1 \n"}) {
    EXPECT_TRUE(parses(ok)) << ok;
  }
}

TEST(JsonReader, RejectsInvalidDocuments) {
  for (std::string_view bad : {"",
                               " ",
                               "{",
                               "}",
                               "[1,]",
                               "[,1]",
                               R"({"a":1,})",
                               R"({"a" 1})",
                               R"({a:1})",
                               "{'a':1}",
                               "01",
                               "1.",
                               ".5",
                               "-",
                               "1e",
                               "+1",
                               "NaN",
                               "Infinity",
                               "tru",
                               "nul",
                               R"("abc)",
                               "\"a\tb\"",
                               R"("\x")",
                               R"("\u12")",
                               R"("\ud800")",
                               R"("\udc00")",
                               R"("\ud800\u0041")",
                               "\"\xff\"",
                               "\"\xc0\xaf\"",
                               "\"\xed\xa0\x80\"",
                               "\"\xf4\x90\x80\x80\"",
                               "1 2",
                               "{} {}",
                               "[1] x",
                               R"({"a":1}})",
                               "[1}",
                               "{]",
                               "[\"a\" \"b\"]"}) {
    EXPECT_FALSE(parses(bad)) << bad;
  }
}

TEST(JsonReader, ReportsLineColumnAndOffsetOfTheFirstError) {
  std::string text = "{\n  \"name\": \"x\",\n  \"age\" 3\n}";
  Reader r(text);
  EXPECT_FALSE(r.skip());
  EXPECT_EQ(r.error().line, 3u);
  EXPECT_EQ(r.error().column, 9u);
  EXPECT_EQ(r.error().offset, text.find(" 3") + 1);
  Status st = r.error_status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.reason(), "MALFORMED_JSON");
  EXPECT_EQ(st.message(), "malformed JSON at line 3, column 9: expected ':' after an object key");
  EXPECT_EQ(st.metadata_value("line"), "3");
  EXPECT_EQ(st.metadata_value("column"), "9");
}

TEST(JsonReader, NestingBeyondTheLimitIsAnErrorNotACrash) {
  std::string deep(100000, '[');
  Reader r(deep);
  EXPECT_FALSE(r.skip());
  EXPECT_EQ(r.error().message, "nesting deeper than the limit");
  std::string ok = std::string(64, '[') + std::string(64, ']');
  EXPECT_TRUE(parses(ok));
  std::string over = std::string(65, '[') + std::string(65, ']');
  EXPECT_FALSE(parses(over));
  Reader wide(over, {.max_depth = 100});
  EXPECT_TRUE(wide.skip() && wide.finish());
}

TEST(JsonReader, StringsAreViewsUnlessEscapedAndEscapesDecode) {
  std::string text = R"(["plain", "a\"b\\c\nd\u00e9\ud83d\ude00", "\u0000"])";
  Reader r(text);
  ASSERT_TRUE(r.begin_array());
  std::string_view s;
  ASSERT_TRUE(r.next_item());
  ASSERT_TRUE(r.read_string(s));
  EXPECT_EQ(s, "plain");
  EXPECT_GE(s.data(), text.data());
  EXPECT_LT(s.data(), text.data() + text.size());
  ASSERT_TRUE(r.next_item());
  ASSERT_TRUE(r.read_string(s));
  EXPECT_EQ(s, "a\"b\\c\nd\xc3\xa9\xf0\x9f\x98\x80");
  ASSERT_TRUE(r.next_item());
  ASSERT_TRUE(r.read_string(s));
  EXPECT_EQ(s, std::string_view("\0", 1));
  EXPECT_FALSE(r.next_item());
  EXPECT_TRUE(r.finish());
}

TEST(JsonReader, KeysStayValidWhileTheirValueIsRead) {
  Reader r(R"({"k\u0065y": "v\u0061lue"})");
  ASSERT_TRUE(r.begin_object());
  std::string_view key, value;
  ASSERT_TRUE(r.next_key(key));
  ASSERT_TRUE(r.read_string(value));
  EXPECT_EQ(key, "key");
  EXPECT_EQ(value, "value");
}

TEST(JsonReader, KindMismatchIsNotASyntaxError) {
  Reader r("42");
  std::string_view s;
  EXPECT_FALSE(r.read_string(s));
  EXPECT_FALSE(r.failed());
  std::string_view n;
  EXPECT_TRUE(r.read_number(n));
  EXPECT_EQ(n, "42");
  EXPECT_TRUE(r.finish());
}

// Found by the otlp_json fuzzer: a span attribute that was not UTF-8 (a request path, a user agent) was
// written as it came, and the document was then refused by every reader, this one and the collector's.
TEST(JsonWriter, TextThatIsNotUtf8IsWrittenWithReplacementCharacters) {
  std::string out;
  append_string(out, std::string("/p\xff\xfe\xc3\xa9 \xed\xa0\x80 \xf0\x9f\x98\x80 \xc3"));
  EXPECT_EQ(
      out, "\"/p\xEF\xBF\xBD\xEF\xBF\xBD\xc3\xa9 \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xf0\x9f\x98\x80 \xEF\xBF\xBD\"");
  EXPECT_TRUE(valid_utf8(out));
  auto back = decode<std::string>(encode(std::string("k\xc0\xaf")));
  ASSERT_TRUE(back.has_value()) << back.error().message();
  EXPECT_EQ(*back, "k\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(JsonWriter, EscapesAndSeparates) {
  std::string out;
  Writer w(out);
  w.begin_object()
      .field("s", std::string("a\"b\\\n\x01"))
      .field("i", -42)
      .key("d")
      .number(0.1)
      .key("nan")
      .number(std::numeric_limits<double>::quiet_NaN())
      .key("a")
      .begin_array()
      .boolean(true)
      .null()
      .begin_object()
      .end_object()
      .end_array()
      .end_object();
  EXPECT_EQ(out, R"({"s":"a\"b\\\n\u0001","i":-42,"d":0.1,"nan":null,"a":[true,null,{}]})");
  EXPECT_TRUE(parses(out));
}

// ---------- binding ----------

struct Address {
  std::string city;
  std::string zip;
  static void json_schema(Schema<Address>& s) {
    s.field("city", &Address::city).required().non_empty();
    s.field("zip", &Address::zip).length(5, 5);
  }
};

struct CreateUser {
  std::string email;
  std::string name;
  std::optional<int> age;
  std::int8_t level = 1;
  double score = 0;
  bool admin = false;
  std::vector<std::string> tags;
  std::optional<Address> address;
  std::vector<Address> previous;
  std::map<std::string, std::int64_t> counters;
  Raw profile;
  std::string role = "member";
  static void json_schema(Schema<CreateUser>& s) {
    s.field("email", &CreateUser::email).required().email();
    s.field("name", &CreateUser::name).required().length(1, 10);
    s.field("age", &CreateUser::age).range(0, 150);
    s.field("level", &CreateUser::level);
    s.field("score", &CreateUser::score).omit_empty();
    s.field("admin", &CreateUser::admin).omit_empty();
    s.field("tags", &CreateUser::tags).max_items(3).omit_empty();
    s.field("address", &CreateUser::address).omit_empty();
    s.field("previous", &CreateUser::previous).omit_empty();
    s.field("counters", &CreateUser::counters).omit_empty();
    s.field("profile", &CreateUser::profile).omit_empty();
    s.field("role", &CreateUser::role).one_of({"member", "admin"});
  }
};

TEST(JsonBind, DecodesEveryKindOfMember) {
  auto r = decode<CreateUser>(R"({
    "email": "ann@example.com", "name": "Ann", "age": 41, "level": -7, "score": 2.5, "admin": true,
    "tags": ["a", "b"], "address": {"city": "Oslo", "zip": "01234"},
    "previous": [{"city": "Rome"}], "counters": {"x": 9007199254740993},
    "profile": {"theme": "dark", "n": [1, 2]}, "unknown": {"ignored": [true]}, "role": "admin"})");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->email, "ann@example.com");
  EXPECT_EQ(r->age, 41);
  EXPECT_EQ(r->level, -7);
  EXPECT_DOUBLE_EQ(r->score, 2.5);
  EXPECT_TRUE(r->admin);
  EXPECT_EQ(r->tags, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(r->address);
  EXPECT_EQ(r->address->city, "Oslo");
  ASSERT_EQ(r->previous.size(), 1u);
  EXPECT_EQ(r->previous[0].city, "Rome");
  EXPECT_EQ(r->counters.at("x"), 9007199254740993);  // beyond a double's integers: no precision lost
  EXPECT_EQ(r->profile.text, R"({"theme": "dark", "n": [1, 2]})");
  EXPECT_EQ(r->role, "admin");
}

TEST(JsonBind, AbsentFieldsKeepDefaultsAndNullClearsOptionals) {
  auto r = decode<CreateUser>(R"({"email":"a@b.io","name":"A","age":null})");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_FALSE(r->age);
  EXPECT_EQ(r->role, "member");
  EXPECT_EQ(r->level, 1);
}

TEST(JsonBind, ReportsEveryFieldErrorWithItsPath) {
  auto r = decode<CreateUser>(R"({
    "email": "not-an-email", "age": "old", "level": 300, "tags": ["a", 2, "c", "d"],
    "address": {"zip": "12"}, "previous": [{"city": "A"}, {"city": ""}], "counters": {"k": 1.5},
    "role": "root", "score": true})");
  ASSERT_FALSE(r);
  const Status& st = r.error();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.reason(), "VALIDATION_FAILED");
  std::map<std::string, std::string> got(st.metadata().begin(), st.metadata().end());
  std::map<std::string, std::string> want{
      {"email", "must be an email address"},
      {"name", "is required"},
      {"age", "expected integer, got string"},
      {"level", "is out of range [-128, 127]"},
      {"tags[1]", "expected string, got number"},
      {"address.city", "is required"},
      {"address.zip", "must be at least 5 characters"},
      {"previous[1].city", "must not be empty"},
      {"counters.k", "must be an integer"},
      {"role", "must be one of: member, admin"},
      {"score", "expected number, got boolean"},
  };
  EXPECT_EQ(got, want);
  EXPECT_NE(st.message().find("(and 8 more)"), std::string_view::npos) << st.message();
  EXPECT_EQ(st.to_http(), 400);
}

TEST(JsonBind, RulesOfAFieldWithATypeErrorDoNotPileOn) {
  auto r = decode<CreateUser>(R"({"email":"a@b.io","name":12345678901})");
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().metadata().size(), 1u);
  EXPECT_EQ(r.error().metadata_value("name"), "expected string, got number");
}

TEST(JsonBind, LengthCountsCharactersNotBytes) {
  // Ten characters, twenty bytes: within length(1, 10).
  auto r = decode<CreateUser>(
      "{\"email\":\"a@b.io\",\"name\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
      "\xc3\xa9\xc3\xa9\xc3\xa9\"}");
  EXPECT_TRUE(r) << r.error().to_string();
}

TEST(JsonBind, DuplicateKeysAreErrorsNotLastWins) {
  auto r = decode<CreateUser>(R"({"email":"a@b.io","name":"A","role":"member","role":"admin"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().metadata_value("role"), "duplicate key");
}

TEST(JsonBind, UnknownFieldsAreIgnoredUnlessRejected) {
  std::string body = R"({"email":"a@b.io","name":"A","extra":1,"address":{"city":"X","floor":2}})";
  EXPECT_TRUE(decode<CreateUser>(body));
  auto r = decode<CreateUser>(body, {.reject_unknown = true});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().metadata_value("extra"), "unknown field");
  EXPECT_EQ(r.error().metadata_value("address.floor"), "unknown field");
}

TEST(JsonBind, MalformedJsonWinsOverFieldErrors) {
  auto r = decode<CreateUser>(R"({"email": 1, "name": "x",})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason(), "MALFORMED_JSON");
  EXPECT_EQ(r.error().metadata_value("column"), "26");
  for (std::string_view bad : {"", "   ", "[1]", R"("str")", "{} x"}) {
    auto e = decode<CreateUser>(bad);
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(decode<CreateUser>("[1]").error().metadata_value("$"), "expected object, got array");
}

TEST(JsonBind, IntegersAreRangeChecked) {
  EXPECT_EQ(*decode<std::uint16_t>("65535"), 65535);
  EXPECT_FALSE(decode<std::uint16_t>("65536"));
  EXPECT_EQ(decode<std::uint32_t>("-1").error().metadata_value("$"), "must not be negative");
  EXPECT_EQ(*decode<std::int64_t>("-9223372036854775808"), std::numeric_limits<std::int64_t>::min());
  EXPECT_FALSE(decode<std::int64_t>("9223372036854775808"));
  EXPECT_EQ(decode<int>("1e3").error().metadata_value("$"), "must be an integer");
  EXPECT_DOUBLE_EQ(*decode<double>("1e3"), 1000.0);
  EXPECT_FALSE(decode<double>("1e999"));
}

struct Window {
  std::int64_t starts_at = 0;
  std::int64_t ends_at = 0;
  static void json_schema(Schema<Window>& s) {
    s.field("starts_at", &Window::starts_at).required();
    s.field("ends_at", &Window::ends_at).required();
    s.check([](const Window& w) -> std::optional<std::pair<std::string, std::string>> {
      if (w.ends_at <= w.starts_at) return std::pair{"ends_at", "must be after starts_at"};
      return std::nullopt;
    });
  }
};

TEST(JsonBind, ObjectRulesSeeTheWholeStruct) {
  EXPECT_TRUE(decode<Window>(R"({"starts_at":1,"ends_at":2})"));
  auto r = decode<Window>(R"({"starts_at":3,"ends_at":2})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().metadata_value("ends_at"), "must be after starts_at");
  // Not run when a field is already wrong.
  auto r2 = decode<Window>(R"({"starts_at":3})");
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error().metadata().size(), 1u);
}

struct Legacy {  // a type we "cannot edit"
  int id = 0;
  std::string label;
};

}  // namespace

template <>
struct Describe<Legacy> {
  static void schema(Schema<Legacy>& s) {
    s.field("id", &Legacy::id).required();
    s.field("label", &Legacy::label);
  }
};

namespace {

TEST(JsonBind, ExternalDescriptions) {
  auto r = decode<std::vector<Legacy>>(R"([{"id":1,"label":"a"},{"id":2}])");
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)[1].id, 2);
  EXPECT_EQ(encode(*r), R"([{"id":1,"label":"a"},{"id":2,"label":""}])");
  auto bad = decode<std::vector<Legacy>>(R"([{"id":1},{}])");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().metadata_value("[1].id"), "is required");
}

enum class Standing : std::uint8_t { kActive = 1, kSuspended, kRevoked };
constexpr auto json_names(Standing) {
  return std::array<std::pair<Standing, std::string_view>, 3>{
      {{Standing::kActive, "active"}, {Standing::kSuspended, "suspended"}, {Standing::kRevoked, "revoked"}}};
}
struct WithStanding {
  Standing status = Standing::kActive;
  std::optional<Standing> previous;
  static void json_schema(Schema<WithStanding>& s) {
    s.field("status", &WithStanding::status).required();
    s.field("previous", &WithStanding::previous);
  }
};

TEST(JsonBind, NamedEnumsAreReadAndWrittenByName) {
  auto r = decode<WithStanding>(R"({"status":"revoked","previous":"suspended"})");
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->status, Standing::kRevoked);
  EXPECT_EQ(r->previous, Standing::kSuspended);
  EXPECT_EQ(encode(*r), R"({"status":"revoked","previous":"suspended"})");
  auto bad = decode<WithStanding>(R"({"status":"expired","previous":2})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().metadata_value("status"), "must be one of: active, suspended, revoked");
  EXPECT_EQ(bad.error().metadata_value("previous"), "expected string, got number");
  // A value without a name is written as its number, which reading refuses.
  EXPECT_EQ(encode(WithStanding{static_cast<Standing>(9), std::nullopt}), R"({"status":9,"previous":null})");
}

TEST(JsonSchema, FieldsExposeTheirMemberTypeAndAddress) {
  const auto& fields = schema_of<WithStanding>().fields();
  ASSERT_EQ(fields.size(), 2u);
  EXPECT_EQ(*fields[1].type, typeid(std::optional<Standing>));
  WithStanding w;
  EXPECT_EQ(fields[1].address(&w), static_cast<void*>(&w.previous));
}

TEST(JsonEncode, WritesDescribedStructsAndRoundTrips) {
  CreateUser u;
  u.email = "z@y.io";
  u.name = "Zoë \"Z\"";
  u.age = 30;
  u.tags = {"x"};
  u.address = Address{"Bergen", "50000"};
  u.profile.text = R"({"k":[1,2]})";
  std::string out = encode(u);
  EXPECT_EQ(out, R"({"email":"z@y.io","name":"Zoë \"Z\"","age":30,"level":1,"tags":["x"],)"
                 R"("address":{"city":"Bergen","zip":"50000"},"profile":{"k":[1,2]},"role":"member"})");
  auto back = decode<CreateUser>(out);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->name, u.name);
  EXPECT_EQ(back->address->zip, "50000");
  EXPECT_EQ(back->profile, u.profile);
  EXPECT_EQ(encode(*back), out);
}

TEST(JsonEncode, DoublesRoundTripExactly) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> dist(-1e300, 1e300);
  for (int i = 0; i < 1000; ++i) {
    double v = i % 2 ? dist(rng) : std::ldexp(dist(rng), -1000);
    EXPECT_EQ(*decode<double>(encode(v)), v);
  }
}

// ---------- a third party agrees: Python's json module ----------

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  pclose(p);
  return out;
}

TEST(JsonInterop, PythonReadsWhatWeWriteAndWeReadWhatPythonWrites) {
  if (run("/usr/bin/python3 -c 'print(1)'") != "1\n") GTEST_SKIP() << "no /usr/bin/python3";
  // Strings with every class of character: ASCII controls, quotes, 2/3/4-byte UTF-8.
  std::mt19937 rng(11);
  std::vector<std::string> samples;
  const std::vector<std::string> alphabet = {
      "a", "\"", "\\",          "/", "\n", "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
      " ", "\t", "\xef\xbf\xbf"};
  for (int i = 0; i < 200; ++i) {
    std::string s;
    int len = static_cast<int>(rng() % 20);
    for (int j = 0; j < len; ++j) s += alphabet[rng() % alphabet.size()];
    samples.push_back(s);
  }
  std::string ours = encode(samples);
  char path[] = "/tmp/svckit_json_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  { std::ofstream(path) << ours; }
  // Python decodes ours and writes it back twice: escaped (\uXXXX, surrogate pairs) and raw UTF-8.
  std::string py = run(std::string("/usr/bin/python3 -c '") +
                       "import json,sys; v=json.load(open(sys.argv[1],encoding=\"utf-8\")); "
                       "print(json.dumps(v)); print(json.dumps(v, ensure_ascii=False))' " +
                       path);
  std::remove(path);
  auto nl = py.find('\n');
  ASSERT_NE(nl, std::string::npos) << py;
  std::string escaped = py.substr(0, nl);
  std::string raw = py.substr(nl + 1, py.size() - nl - 2);
  auto a = decode<std::vector<std::string>>(escaped);
  auto b = decode<std::vector<std::string>>(raw);
  ASSERT_TRUE(a) << a.error().to_string();
  ASSERT_TRUE(b) << b.error().to_string();
  EXPECT_EQ(*a, samples);
  EXPECT_EQ(*b, samples);
}

}  // namespace
}  // namespace svckit::json
