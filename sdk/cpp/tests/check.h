// A few lines of test harness: TEST registers a function, CHECK records a
// failure and carries on, REQUIRE stops the test. main() runs them all.
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace muster_test {

struct Case {
  const char* name;
  void (*fn)();
};
std::vector<Case>& cases();
struct Register {
  Register(const char* name, void (*fn)()) { cases().push_back({name, fn}); }
};
void fail(const char* file, int line, const std::string& what);
struct Stop {};  // thrown by REQUIRE to end the test

// The directory of the golden frames (the test's first argument).
const std::string& testdata();

template <class A, class B>
std::string both(const A& a, const B& b) {
  std::ostringstream o;
  o << "\n    got:  " << a << "\n    want: " << b;
  return o.str();
}

}  // namespace muster_test

#define TEST(name)                                                         \
  static void name();                                                      \
  static const muster_test::Register name##_registered(#name, name);      \
  static void name()

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) muster_test::fail(__FILE__, __LINE__, #cond);             \
  } while (0)

#define CHECK_EQ(a, b)                                                                         \
  do {                                                                                         \
    const auto& check_a_ = (a);                                                                \
    const auto& check_b_ = (b);                                                                \
    if (!(check_a_ == check_b_))                                                               \
      muster_test::fail(__FILE__, __LINE__, #a " == " #b + muster_test::both(check_a_, check_b_)); \
  } while (0)

#define REQUIRE(cond)                                                      \
  do {                                                                     \
    if (!(cond)) {                                                         \
      muster_test::fail(__FILE__, __LINE__, #cond);                        \
      throw muster_test::Stop{};                                           \
    }                                                                      \
  } while (0)

// A Status that must be ok.
#define REQUIRE_OK(expr)                                                   \
  do {                                                                     \
    const ::muster::Status require_s_ = (expr);                            \
    if (!require_s_.ok()) {                                                \
      muster_test::fail(__FILE__, __LINE__, #expr ": " + require_s_.to_string()); \
      throw muster_test::Stop{};                                           \
    }                                                                      \
  } while (0)
