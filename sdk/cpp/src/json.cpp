#include "muster/json.h"

#include <cstdint>
#include <vector>

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

namespace {

// A reader over one JSON document that skips what it is not asked for.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

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
  bool peek(char c) {
    ws();
    return i_ < s_.size() && s_[i_] == c;
  }
  bool at_end() {
    ws();
    return i_ == s_.size();
  }

  // A string literal, decoded into *out (when out is not null).
  bool string(std::string* out) {
    if (!eat('"')) return false;
    for (;;) {
      if (i_ >= s_.size()) return false;
      const char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        if (out) out->push_back(c);
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
          if (out) utf8(cp, out);
          continue;
        }
        default:
          return false;
      }
      if (out) out->push_back(plain);
    }
  }

  // Skips one value of any kind.
  bool skip(int depth = 0) {
    if (depth > 64) return false;
    ws();
    if (i_ >= s_.size()) return false;
    const char c = s_[i_];
    if (c == '"') return string(nullptr);
    if (c == '{') {
      ++i_;
      if (eat('}')) return true;
      do {
        if (!string(nullptr) || !eat(':') || !skip(depth + 1)) return false;
      } while (eat(','));
      return eat('}');
    }
    if (c == '[') {
      ++i_;
      if (eat(']')) return true;
      do {
        if (!skip(depth + 1)) return false;
      } while (eat(','));
      return eat(']');
    }
    // true, false, null or a number: a run of their characters.
    const size_t start = i_;
    while (i_ < s_.size()) {
      const char d = s_[i_];
      if ((d >= '0' && d <= '9') || (d >= 'a' && d <= 'z') || d == '-' || d == '+' || d == '.' || d == 'E') {
        ++i_;
      } else {
        break;
      }
    }
    const std::string_view word = s_.substr(start, i_ - start);
    if (word == "true" || word == "false" || word == "null") return true;
    return !word.empty() && (word[0] == '-' || (word[0] >= '0' && word[0] <= '9'));
  }

  // Follows path from the value here; the string at its end goes to *out.
  bool find(const std::vector<std::string_view>& path, size_t at, std::string* out, bool* found, int depth = 0) {
    if (depth > 64) return false;
    if (at == path.size()) {
      if (!peek('"')) return skip(depth);
      std::string v;
      if (!string(&v)) return false;
      if (!*found) *out = std::move(v);
      *found = true;
      return true;
    }
    if (!eat('{')) return skip(depth);
    if (eat('}')) return true;
    do {
      std::string key;
      if (!string(&key) || !eat(':')) return false;
      if (!*found && key == path[at]) {
        if (!find(path, at + 1, out, found, depth + 1)) return false;
      } else if (!skip(depth + 1)) {
        return false;
      }
    } while (eat(','));
    return eat('}');
  }

 private:
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

}  // namespace

bool json_string_at(std::string_view json, std::initializer_list<std::string_view> path, std::string* out) {
  Reader r(json);
  std::string value;
  bool found = false;
  const std::vector<std::string_view> p(path);
  if (!r.find(p, 0, &value, &found) || !r.at_end() || !found) return false;
  *out = std::move(value);
  return true;
}

}  // namespace muster
