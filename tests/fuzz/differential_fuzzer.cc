// libFuzzer entry point (clang, -fsanitize=fuzzer): the input bytes drive the differential run.
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/differential.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  futexbox::fuzz::ByteChoices choices(data, size);
  const std::string difference = futexbox::fuzz::run_differential(choices, 64);
  if (!difference.empty()) {
    std::fprintf(stderr, "host and futexbox differ:\n%s", difference.c_str());
    std::abort();
  }
  return 0;
}
