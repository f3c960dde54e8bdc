// The JSON the SDK's REST calls need: Json, a small document tree to read
// answers from and to build request bodies with, and two helpers for a
// single string. It is not a general JSON library; an engine has its own
// for anything more.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace muster {

class JsonParser;

// One JSON value. Reading never fails: asking a value for a member it does
// not have, or for the wrong type, gives null, 0, false or "" (use type()
// or find() where the difference matters). Numbers keep their literal
// text, so 64-bit integers (currency amounts, ids) round-trip exactly.
class Json {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool b) : type_(Type::kBool), bool_(b) {}
  Json(int n) : Json(static_cast<int64_t>(n)) {}
  Json(int64_t n) : type_(Type::kNumber), text_(std::to_string(n)) {}
  Json(uint64_t n) : type_(Type::kNumber), text_(std::to_string(n)) {}
  Json(std::string s) : type_(Type::kString), text_(std::move(s)) {}
  Json(std::string_view s) : type_(Type::kString), text_(s) {}
  Json(const char* s) : type_(Type::kString), text_(s) {}
  static Json array() { return Json(Type::kArray); }
  static Json object() { return Json(Type::kObject); }

  // Parses one whole JSON document (RFC 8259; nesting at most 64 deep).
  // False, leaving *out alone, when text is not one.
  static bool parse(std::string_view text, Json* out);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }
  // A number with no fraction or exponent that fits an int64_t.
  bool is_integer() const;

  bool as_bool() const { return type_ == Type::kBool && bool_; }
  int64_t as_int() const;  // 0 unless is_integer()
  double as_double() const;
  const std::string& as_string() const;  // "" unless a string

  // Arrays and objects: how many items or members, and the i-th one's
  // value (null past the end). Objects: the i-th member's key.
  size_t size() const { return items_.size(); }
  const Json& at(size_t i) const;
  const std::string& key(size_t i) const;
  // Objects: the member named key, or nullptr.
  const Json* find(std::string_view key) const;
  // The same, or null when there is none.
  const Json& operator[](std::string_view key) const;
  const Json& operator[](const char* key) const { return (*this)[std::string_view(key)]; }

  // Building. set() adds a member to an object (or replaces it); push()
  // appends to an array. Both return *this, so calls chain.
  Json& set(std::string_view key, Json value);
  Json& push(Json value);

  // Compact JSON text.
  std::string dump() const;
  void dump_to(std::string* out) const;

 private:
  friend class JsonParser;
  explicit Json(Type t) : type_(t) {}

  Type type_ = Type::kNull;
  bool bool_ = false;
  std::string text_;               // a string's value, a number's literal
  std::vector<Json> items_;        // an array's items, an object's values
  std::vector<std::string> keys_;  // an object's keys, one per item
};

// s as a JSON string literal, quotes included.
std::string json_quote(std::string_view s);

// Reads the string at path (object member names from the top) of a JSON
// document into *out: json_string_at(body, {"tokens", "access_token"}, &t).
// False when the document is malformed or the path does not lead to a string.
bool json_string_at(std::string_view json, std::initializer_list<std::string_view> path, std::string* out);

}  // namespace muster
