// Differential fuzzing of the futex family: the same random single-threaded sequence of calls
// (valid and invalid arguments, random memory states) runs on the host kernel and on futexbox;
// every return value, errno and futex word must match exactly. Used by a bounded run in the test
// suite (PRNG-driven) and by a libFuzzer target (input-driven).
#pragma once

#include <cstdint>
#include <cstddef>
#include <random>
#include <string>

namespace futexbox::fuzz {

// Where the choices come from.
class Choices {
 public:
  virtual ~Choices() = default;
  virtual std::uint32_t below(std::uint32_t bound) = 0;  // in [0, bound); bound > 0
  virtual bool exhausted() const { return false; }
};

class RandomChoices final : public Choices {
 public:
  explicit RandomChoices(std::uint64_t seed) : rng_(seed) {}
  std::uint32_t below(std::uint32_t bound) override {
    return static_cast<std::uint32_t>(rng_() % bound);
  }

 private:
  std::mt19937_64 rng_;
};

class ByteChoices final : public Choices {
 public:
  ByteChoices(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::uint32_t below(std::uint32_t bound) override {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | (pos_ < size_ ? data_[pos_++] : 0);
    return v % bound;
  }
  bool exhausted() const override { return pos_ >= size_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// Runs up to `max_ops` operations. Returns "" if host and futexbox agreed on everything, else a
// description of the first difference (the operation, both results, the words).
std::string run_differential(Choices& choices, int max_ops);

}  // namespace futexbox::fuzz
