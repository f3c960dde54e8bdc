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

TEST(json_parses_a_document_into_values) {
  Json j;
  REQUIRE(Json::parse(R"( {"s":"x","n":-12,"big":9223372036854775807,"f":1.5e3,"t":true,"z":null,"a":[1,"two",{"k":[]}],"o":{}} )", &j));
  CHECK(j.is_object());
  CHECK_EQ(j.size(), 8u);
  CHECK_EQ(j.key(0), "s");
  CHECK_EQ(j["s"].as_string(), "x");
  CHECK_EQ(j["n"].as_int(), -12);
  CHECK_EQ(j["big"].as_int(), INT64_MAX);
  CHECK(!j["f"].is_integer());
  CHECK_EQ(j["f"].as_double(), 1500.0);
  CHECK(j["t"].as_bool());
  CHECK(j["z"].is_null());
  CHECK(j.find("z") != nullptr);
  CHECK(j.find("missing") == nullptr);
  CHECK(j["missing"]["deeper"].is_null());  // reading through absence is safe
  CHECK_EQ(j["a"].size(), 3u);
  CHECK_EQ(j["a"].at(1).as_string(), "two");
  CHECK(j["a"].at(2)["k"].is_array());
  CHECK(j["a"].at(9).is_null());
  CHECK(j["o"].is_object());
  CHECK_EQ(j["s"].as_int(), 0);  // the wrong type reads as the zero value
  CHECK_EQ(j["n"].as_string(), "");
  Json big;
  REQUIRE(Json::parse("9223372036854775808", &big));  // past int64: a number, not an integer
  CHECK(big.is_number());
  CHECK(!big.is_integer());
}

TEST(json_dumps_what_it_parsed_and_what_was_built) {
  const std::string text = R"({"s":"a\"b\n","n":-12,"big":9223372036854775807,"f":1.5e3,"t":true,"z":null,"a":[1,"two",{"k":[]}],"o":{}})";
  Json j;
  REQUIRE(Json::parse(text, &j));
  CHECK_EQ(j.dump(), text);  // numbers keep their literal text

  Json body = Json::object().set("queue", "br_quads").set("latency_ms", Json::object().set("eu-west", 30));
  body.set("ids", Json::array().push("x").push(int64_t{-1}).push(true).push(nullptr));
  body.set("queue", "tdm");  // set replaces
  CHECK_EQ(body.dump(), R"({"queue":"tdm","latency_ms":{"eu-west":30},"ids":["x",-1,true,null]})");
  CHECK_EQ(Json(uint64_t{18446744073709551615u}).dump(), "18446744073709551615");
}

TEST(json_refuses_what_is_not_json) {
  Json j = Json("unchanged");
  for (const char* bad : {"", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "01", "1.", "-", ".5", "1e", "+1", "tru",
                          "nul", "\"a", "'a'", "{\"a\":1}}", "[1] [2]", "{a:1}", "\"\\x\"", "NaN"}) {
    if (Json::parse(bad, &j)) muster_test::fail(__FILE__, __LINE__, std::string("parsed: ") + bad);
  }
  CHECK_EQ(j.as_string(), "unchanged");
  std::string deep(64, '[');
  deep += std::string(64, ']');
  CHECK(Json::parse(deep, &j));
  CHECK(!Json::parse("[" + deep + "]", &j));  // 65 deep
}
