// muster_tests: the SDK's unit tests. Usage: muster_tests TESTDATA_DIR [NAME...]
// (TESTDATA_DIR is realtime/protocol/testdata; names pick tests to run).
#include <cstring>
#include <exception>
#include <iostream>

#include "check.h"

namespace muster_test {

namespace {
int failures = 0;
std::string testdata_dir;
}  // namespace

std::vector<Case>& cases() {
  static std::vector<Case> all;
  return all;
}

void fail(const char* file, int line, const std::string& what) {
  ++failures;
  std::cerr << "  " << file << ":" << line << ": " << what << "\n";
}

const std::string& testdata() { return testdata_dir; }

}  // namespace muster_test

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: muster_tests TESTDATA_DIR [TEST...]\n";
    return 2;
  }
  muster_test::testdata_dir = argv[1];
  int failed_cases = 0, ran = 0;
  for (const auto& c : muster_test::cases()) {
    if (argc > 2) {
      bool picked = false;
      for (int i = 2; i < argc; ++i) picked = picked || std::strcmp(argv[i], c.name) == 0;
      if (!picked) continue;
    }
    ++ran;
    const int before = muster_test::failures;
    try {
      c.fn();
    } catch (const muster_test::Stop&) {
    } catch (const std::exception& e) {
      muster_test::fail(c.name, 0, std::string("exception: ") + e.what());
    }
    const bool ok = muster_test::failures == before;
    if (!ok) ++failed_cases;
    std::cout << (ok ? "ok   " : "FAIL ") << c.name << "\n";
  }
  if (ran == 0) {
    std::cerr << "no test ran\n";
    return 1;
  }
  std::cout << (failed_cases == 0 ? "PASS" : "FAIL") << ": " << ran - failed_cases << "/" << ran << " tests\n";
  return failed_cases == 0 ? 0 : 1;
}
