#include "check.h"
#include "muster/json.h"

using namespace muster;

TEST(json_quote_escapes) {
  CHECK_EQ(json_quote("plain"), "\"plain\"");
  CHECK_EQ(json_quote("a\"b\\c\n\t"), "\"a\\\"b\\\\c\\n\\t\"");
  CHECK_EQ(json_quote(std::string("\x01", 1)), "\"\\u0001\"");
  CHECK_EQ(json_quote("héllo"), "\"héllo\"");
}

TEST(json_string_at_follows_a_path) {
  const std::string login = R"({"player":{"id":"p_1","display_name":"Nova","status":"active","level":3,"tags":[1,{"id":"x"}]},
    "tokens":{"access_token":"eyJ.a.b","token_type":"Bearer","expires_in":900,"refresh_token":"r_1","ok":true,"n":null}})";
  std::string v;
  CHECK(json_string_at(login, {"tokens", "access_token"}, &v));
  CHECK_EQ(v, "eyJ.a.b");
  CHECK(json_string_at(login, {"player", "id"}, &v));
  CHECK_EQ(v, "p_1");
  CHECK(!json_string_at(login, {"tokens", "expires_in"}, &v));  // a number, not a string
  CHECK(!json_string_at(login, {"id"}, &v));                     // not at the top
  CHECK(!json_string_at(login, {"tokens", "missing"}, &v));
}

TEST(json_string_at_is_not_fooled_by_strings) {
  // A value that looks like the key, and the key inside another string.
  const std::string doc = R"({"note":"\"party_id\":\"evil\"","party_id":"pt_1"})";
  std::string v;
  CHECK(json_string_at(doc, {"party_id"}, &v));
  CHECK_EQ(v, "pt_1");
}

TEST(json_string_at_decodes_escapes) {
  std::string v;
  CHECK(json_string_at(R"({"s":"a\"b\\c\/d\n\u00e9\ud83d\ude00"})", {"s"}, &v));
  CHECK_EQ(v, "a\"b\\c/d\n\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(json_string_at_refuses_malformed_documents) {
  std::string v = "unchanged";
  CHECK(!json_string_at(R"({"s":"x")", {"s"}, &v));
  CHECK(!json_string_at(R"({"s":"x"} trailing)", {"s"}, &v));
  CHECK(!json_string_at(R"({"s":"x",})", {"s"}, &v));
  CHECK(!json_string_at(R"({"s":"\ud83d"})", {"s"}, &v));
  CHECK(!json_string_at(R"({"s":"a)" "\n" R"(b"})", {"s"}, &v));
  CHECK(!json_string_at("", {"s"}, &v));
  std::string deep(200, '[');
  CHECK(!json_string_at(deep, {"s"}, &v));
  CHECK_EQ(v, "unchanged");
}
