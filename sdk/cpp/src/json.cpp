#include "muster/json.h"

#include <charconv>
#include <cstdint>
#include <cstdlib>

namespace muster {

std::string json_quote(std::string_view s) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out.push_back(hex[u >> 4]);
          out.push_back(hex[u & 0xf]);
        } else {
          out.push_back(c);  // UTF-8 passes through
        }
    }
  }
  out.push_back('"');
  return out;
}

// Parses one document into a Json tree; depth bounds the nesting so that a
// hostile answer cannot exhaust the stack.
class JsonParser {
 public:
  explicit JsonParser(std::string_view s) : s_(s) {}

  bool document(Json* out) {
    if (!value(out, 0)) return false;
    ws();
    return i_ == s_.size();
  }

 private:
  static constexpr int kMaxDepth = 64;

  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool literal(std::string_view word) {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  bool value(Json* out, int depth) {
    if (depth >= kMaxDepth) return false;
    ws();
    if (i_ >= s_.size()) return false;
    switch (s_[i_]) {
      case '{': {
        ++i_;
        Json obj = Json::object();
        if (!eat('}')) {
          do {
            std::string key;
            ws();
            Json v;
            if (!string(&key) || !eat(':') || !value(&v, depth + 1)) return false;
            // Appended as they come (a repeated key: find() sees the first).
            obj.keys_.push_back(std::move(key));
            obj.items_.push_back(std::move(v));
          } while (eat(','));
          if (!eat('}')) return false;
        }
        *out = std::move(obj);
        return true;
      }
      case '[': {
        ++i_;
        Json arr = Json::array();
        if (!eat(']')) {
          do {
            Json v;
            if (!value(&v, depth + 1)) return false;
            arr.push(std::move(v));
          } while (eat(','));
          if (!eat(']')) return false;
        }
        *out = std::move(arr);
        return true;
      }
      case '"': {
        std::string s;
        if (!string(&s)) return false;
        *out = Json(std::move(s));
        return true;
      }
      case 't':
        if (!literal("true")) return false;
        *out = Json(true);
        return true;
      case 'f':
        if (!literal("false")) return false;
        *out = Json(false);
        return true;
      case 'n':
        if (!literal("null")) return false;
        *out = Json();
        return true;
      default:
        return number(out);
    }
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  bool number(Json* out) {
    const size_t start = i_;
    const auto digits = [&] {
      const size_t from = i_;
      while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
      return i_ > from;
    };
    if (i_ < s_.size() && s_[i_] == '-') ++i_;
    if (i_ < s_.size() && s_[i_] == '0') {
      ++i_;
    } else if (!digits()) {
      return false;
    }
    if (i_ < s_.size() && s_[i_] == '.') {
      ++i_;
      if (!digits()) return false;
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      ++i_;
      if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (!digits()) return false;
    }
    Json n(Json::Type::kNumber);
    n.text_ = std::string(s_.substr(start, i_ - start));
    *out = std::move(n);
    return true;
  }

  // A string literal, decoded into *out.
  bool string(std::string* out) {
    if (i_ >= s_.size() || s_[i_] != '"') return false;
    ++i_;
    for (;;) {
      if (i_ >= s_.size()) return false;
      const char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      char plain = 0;
      switch (e) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // a surrogate pair
            uint32_t lo = 0;
            if (i_ + 2 > s_.size() || s_[i_] != '\\' || s_[i_ + 1] != 'u') return false;
            i_ += 2;
            if (!hex4(&lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
          }
          utf8(cp, out);
          continue;
        }
        default:
          return false;
      }
      out->push_back(plain);
    }
  }

  bool hex4(uint32_t* v) {
    if (i_ + 4 > s_.size()) return false;
    *v = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = s_[i_++];
      *v <<= 4;
      if (h >= '0' && h <= '9') *v |= static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') *v |= static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') *v |= static_cast<uint32_t>(h - 'A' + 10);
      else return false;
    }
    return true;
  }

  static void utf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

namespace {

const Json& null_json() {
  static const Json null;
  return null;
}

const std::string& empty_string() {
  static const std::string empty;
  return empty;
}

}  // namespace

bool Json::parse(std::string_view text, Json* out) {
  Json v;
  if (!JsonParser(text).document(&v)) return false;
  *out = std::move(v);
  return true;
}

bool Json::is_integer() const {
  if (type_ != Type::kNumber || text_.find_first_of(".eE") != std::string::npos) return false;
  int64_t v = 0;
  const auto [end, err] = std::from_chars(text_.data(), text_.data() + text_.size(), v);
  return err == std::errc() && end == text_.data() + text_.size();
}

int64_t Json::as_int() const {
  if (!is_integer()) return 0;
  int64_t v = 0;
  std::from_chars(text_.data(), text_.data() + text_.size(), v);
  return v;
}

double Json::as_double() const {
  if (type_ != Type::kNumber) return 0;
  // strtod reads the C locale's decimal point, which is "." unless the
  // program changed it; JSON numbers always use ".".
  return std::strtod(text_.c_str(), nullptr);
}

const std::string& Json::as_string() const { return type_ == Type::kString ? text_ : empty_string(); }

const Json& Json::at(size_t i) const { return i < items_.size() ? items_[i] : null_json(); }

const std::string& Json::key(size_t i) const { return i < keys_.size() ? keys_[i] : empty_string(); }

const Json* Json::find(std::string_view key) const {
  if (type_ != Type::kObject) return nullptr;
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) return &items_[i];
  }
  return nullptr;
}

const Json& Json::operator[](std::string_view key) const {
  const Json* v = find(key);
  return v != nullptr ? *v : null_json();
}

Json& Json::set(std::string_view key, Json value) {
  if (type_ != Type::kObject) return *this;
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) {
      items_[i] = std::move(value);
      return *this;
    }
  }
  keys_.emplace_back(key);
  items_.push_back(std::move(value));
  return *this;
}

Json& Json::push(Json value) {
  if (type_ == Type::kArray) items_.push_back(std::move(value));
  return *this;
}

void Json::dump_to(std::string* out) const {
  switch (type_) {
    case Type::kNull: *out += "null"; return;
    case Type::kBool: *out += bool_ ? "true" : "false"; return;
    case Type::kNumber: *out += text_; return;
    case Type::kString: *out += json_quote(text_); return;
    case Type::kArray:
      out->push_back('[');
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i > 0) out->push_back(',');
        items_[i].dump_to(out);
      }
      out->push_back(']');
      return;
    case Type::kObject:
      out->push_back('{');
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i > 0) out->push_back(',');
        *out += json_quote(keys_[i]);
        out->push_back(':');
        items_[i].dump_to(out);
      }
      out->push_back('}');
      return;
  }
}

std::string Json::dump() const {
  std::string out;
  dump_to(&out);
  return out;
}

bool json_string_at(std::string_view json, std::initializer_list<std::string_view> path, std::string* out) {
  Json doc;
  if (!Json::parse(json, &doc)) return false;
  const Json* at = &doc;
  for (const auto name : path) {
    at = at->find(name);
    if (at == nullptr) return false;
  }
  if (!at->is_string()) return false;
  *out = at->as_string();
  return true;
}

}  // namespace muster
