// A program linked to a C++ shared library (cxx_static_ctor_lib.cc) whose static constructor
// makes futex calls; tests/realworld execs it from sh, so the constructor runs in an exec'd image
// before that image's agent is up (issue 13, item 3: it died of SIGSYS, status 159).
#include <iostream>

int greeted_by_library();

int main() {
  std::cout << "library constructor ran " << greeted_by_library() << " time(s)\n";
  return 0;
}
