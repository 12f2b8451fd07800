#include "tests/fuzz/differential.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>

#include <array>
#include <cstdio>
#include <functional>
#include <memory>
#include <sstream>
#include <thread>

#include "tests/conformance/backend.h"

namespace futexbox::fuzz {
namespace {

using conformance::Addr;
using conformance::Backend;

constexpr int kWords = 16;
constexpr std::uint32_t kDeadTid = 0x3ffffff0;
constexpr std::uint32_t kTidMask = FUTEX_TID_MASK;

// One side of the comparison: a backend, its words, its TIDs and scratch space for arguments.
struct Side {
  std::unique_ptr<Backend> backend;
  Addr words = 0;
  Addr readonly = 0;
  Addr unmapped = 0;
  Addr scratch = 0;  // timespecs and waitv arrays are written here
  std::uint32_t me = 0;
  std::uint32_t other = 0;
  Addr gate = 0;
  std::unique_ptr<conformance::GuestThread> bystander;

  // The emulated side adopts the host side's bystander, so both agree on every TID: the main
  // thread's (the same thread calls both) and the bystander's.
  Side(std::unique_ptr<Backend> b, const Side* host_side) : backend(std::move(b)) {
    words = backend->alloc(4 * kWords);
    readonly = backend->readonly_page();
    unmapped = backend->unmapped_page();
    scratch = backend->alloc(512);
    me = static_cast<std::uint32_t>(backend->syscall(SYS_gettid));
    gate = backend->alloc(4);
    if (host_side != nullptr) {
      other = host_side->other;
      backend->adopt_thread(static_cast<pid_t>(other));
      return;
    }
    const Addr tid = backend->alloc(4);
    bystander = backend->spawn([this, tid] {
      backend->store(tid, static_cast<std::uint32_t>(backend->syscall(SYS_gettid)));
      while (backend->load(gate) == 0) backend->futex(gate, FUTEX_WAIT_PRIVATE, 0);
    });
    while (backend->load(tid) == 0) std::this_thread::yield();
    other = backend->load(tid);
  }
  ~Side() {
    if (!bystander) return;
    backend->store(gate, 1);
    backend->futex(gate, FUTEX_WAKE_PRIVATE, 1);
    bystander->join();
  }

  // Symbolic values (a TID kind and flag bits) resolved per side; both sides share TIDs.
  std::uint32_t value(std::uint32_t symbolic_tid_kind, std::uint32_t bits) const {
    switch (symbolic_tid_kind) {
      case 1:
        return me | bits;
      case 2:
        return other | bits;
      case 3:
        return kDeadTid | bits;
      default:
        return bits;
    }
  }
  Addr address(std::uint32_t kind, std::uint32_t index) const {
    switch (kind) {
      case 0:
        return words + 4 * index;
      case 1:
        return words + 4 * index + 1 + index % 3;  // misaligned
      case 2:
        return readonly + 4 * index;
      case 3:
        return unmapped + 4 * index;
      default:
        return 0;
    }
  }
};

std::uint32_t pid_max() {
  static const std::uint32_t value = [] {
    std::uint32_t v = 4194304;
    if (FILE* f = std::fopen("/proc/sys/kernel/pid_max", "r")) {
      if (std::fscanf(f, "%u", &v) != 1) v = 4194304;
      std::fclose(f);
    }
    return v;
  }();
  return value;
}

}  // namespace

std::string run_differential(Choices& c, int max_ops) {
  Side host(conformance::make_host_backend(), nullptr);
  Side emu(conformance::make_emulated_backend(), &host);

  auto pick_value = [&](std::uint32_t& kind, std::uint32_t& bits) {
    kind = c.below(4);
    static constexpr std::uint32_t kBits[] = {0, FUTEX_WAITERS, FUTEX_OWNER_DIED,
                                              FUTEX_WAITERS | FUTEX_OWNER_DIED};
    bits = kBits[c.below(4)];
    if (kind == 0) {
      static constexpr std::uint32_t kPlain[] = {0, 1, 2, 3, 0xffffffff, 0x7fffffff, 0x80000000};
      bits = c.below(4) == 0 ? c.below(0xffffffff) : kPlain[c.below(7)];
    }
  };

  for (int step = 0; step < max_ops && !c.exhausted(); ++step) {
    // Memory state: sometimes rewrite a word.
    if (c.below(3) == 0) {
      const std::uint32_t i = c.below(kWords);
      std::uint32_t kind, bits;
      pick_value(kind, bits);
      host.backend->store(host.address(0, i), host.value(kind, bits));
      emu.backend->store(emu.address(0, i), emu.value(kind, bits));
    }

    // Arguments, chosen once, resolved per side.
    const std::uint32_t a_kind = c.below(10) < 7 ? 0 : 1 + c.below(4);
    const std::uint32_t a_index = c.below(kWords);
    const std::uint32_t b_kind = c.below(10) < 7 ? 0 : 1 + c.below(4);
    const std::uint32_t b_index = c.below(kWords);
    std::uint32_t v_kind, v_bits;
    pick_value(v_kind, v_bits);
    static constexpr std::int64_t kCounts[] = {0, 1, 2, -1, INT32_MAX, 5};
    const std::int64_t count1 = kCounts[c.below(6)];
    const std::int64_t count2 = kCounts[c.below(6)];
    const std::uint32_t val3_choice = c.below(4);
    const std::uint32_t raw_val3 = c.below(0xffffffff);
    // Timeouts: never NULL for calls that may wait, so nothing blocks.
    const std::uint32_t ts_kind = c.below(6);
    const std::uint32_t family = c.below(12);

    auto timeout = [&](Side& s) -> std::uint64_t {
      std::int64_t ts[2] = {0, 0};
      switch (ts_kind) {
        case 0:
        case 1:
          break;  // {0, 0}: relative zero, or an absolute time long past
        case 2:
          ts[1] = 1000;  // 1 us: relative, a short wait; absolute, long past
          break;
        case 3:
          ts[1] = 1'000'000'000;  // invalid
          break;
        case 4:
          ts[0] = -1;  // invalid
          break;
        default:
          return s.unmapped;
      }
      s.backend->write(s.scratch, ts, sizeof(ts));
      return s.scratch;
    };

    std::ostringstream text;
    std::uint64_t nr = SYS_futex;
    std::function<std::array<std::uint64_t, 6>(Side&)> args;

    if (family < 7) {
      // futex(2): every command, and one past the last, with random flags.
      const int cmd = static_cast<int>(c.below(15));
      const int flags = (c.below(2) ? FUTEX_PRIVATE_FLAG : 0) |
                        (c.below(5) == 0 ? FUTEX_CLOCK_REALTIME : 0);
      const bool waits = cmd == 0 || cmd == 6 || cmd == 9 || cmd == 11 || cmd == 13;
      static constexpr std::uint32_t kMasks[] = {FUTEX_BITSET_MATCH_ANY, 0, 1, 0x80000000};
      const std::uint32_t mask = kMasks[val3_choice];
      const std::uint32_t op3 = c.below(2) ? raw_val3 : (c.below(8) << 28) | (c.below(7) << 24) |
                                                            (c.below(4096) << 12) | c.below(4096);
      text << "futex(a" << a_kind << ":" << a_index << ", cmd " << cmd << " flags " << flags
           << ", val " << v_kind << ":" << v_bits << ", ts " << ts_kind << "/c2 " << count2
           << ", b" << b_kind << ":" << b_index << ", val3 " << (cmd == 5 ? op3 : mask) << ")";
      args = [=, &timeout](Side& s) -> std::array<std::uint64_t, 6> {
        const std::uint64_t arg3 =
            waits ? timeout(s) : static_cast<std::uint64_t>(static_cast<std::uint32_t>(count2));
        const std::uint32_t val =
            cmd == 1 || cmd == 3 || cmd == 4 || cmd == 5 || cmd == 10 || cmd == 12
                ? static_cast<std::uint32_t>(count1)
                : s.value(v_kind, v_bits);
        std::uint32_t val3 = cmd == 5 ? op3 : mask;
        if (cmd == 4 || cmd == 12) val3 = s.value(v_kind, v_bits);
        return {s.address(a_kind, a_index), static_cast<std::uint64_t>(cmd | flags), val, arg3,
                s.address(b_kind, b_index), val3};
      };
    } else if (family < 9) {
      // futex_waitv(2)
      nr = 449;
      const std::uint32_t n = c.below(8) == 0 ? (c.below(2) ? 0 : 129) : 1 + c.below(3);
      std::array<std::array<std::uint32_t, 6>, 3> e{};  // kind, index, vkind, vbits, flags, rsv
      for (auto& x : e) {
        x[0] = c.below(10) < 8 ? 0 : 1 + c.below(4);
        x[1] = c.below(kWords);
        pick_value(x[2], x[3]);
        static constexpr std::uint32_t kFlags[] = {2, 2 | 128, 3, 0, 2 | 0x100, 2 | 128};
        x[4] = kFlags[c.below(6)];
        x[5] = c.below(10) == 0 ? 1 : 0;
      }
      const std::uint32_t wflags = c.below(10) == 0 ? 1 : 0;
      static constexpr std::int32_t kClocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, 99};
      const std::int32_t clock = kClocks[c.below(3)];
      text << "futex_waitv(n " << n << ", flags " << wflags << ", ts " << ts_kind << ", clock "
           << clock << ")";
      args = [=, &timeout](Side& s) -> std::array<std::uint64_t, 6> {
        const Addr vec = s.scratch + 64;
        for (std::uint32_t i = 0; i < 3; ++i) {
          const std::uint64_t entry[3] = {
              s.value(e[i][2], e[i][3]), s.address(e[i][0], e[i][1]),
              static_cast<std::uint64_t>(e[i][4]) | (static_cast<std::uint64_t>(e[i][5]) << 32)};
          s.backend->write(vec + 24 * i, entry, sizeof(entry));
        }
        return {vec, n, wflags, timeout(s), static_cast<std::uint64_t>(clock), 0};
      };
    } else if (family == 9) {
      nr = 454;  // futex_wake(uaddr, mask, nr, flags)
      static constexpr std::uint64_t kMasks[] = {0xffffffff, 0, 1ull << 32, 5};
      const std::uint64_t mask = kMasks[val3_choice];
      static constexpr std::uint32_t kFlags[] = {2, 2 | 128, 3, 1, 2 | 0x40};
      const std::uint32_t f = kFlags[c.below(5)];
      text << "futex_wake(a" << a_kind << ":" << a_index << ", mask " << mask << ", nr " << count1
           << ", flags " << f << ")";
      args = [=](Side& s) -> std::array<std::uint64_t, 6> {
        return {s.address(a_kind, a_index), mask, static_cast<std::uint64_t>(count1), f, 0, 0};
      };
    } else if (family == 10) {
      nr = 455;  // futex_wait(uaddr, val, mask, flags, timeout, clockid)
      static constexpr std::uint64_t kMasks[] = {0xffffffff, 0, 1ull << 32, 5};
      const std::uint64_t mask = kMasks[val3_choice];
      static constexpr std::uint32_t kFlags[] = {2, 2 | 128, 3, 2 | 0x40};
      const std::uint32_t f = kFlags[c.below(4)];
      static constexpr std::int32_t kClocks[] = {CLOCK_MONOTONIC, CLOCK_REALTIME, 99};
      const std::int32_t clock = kClocks[c.below(3)];
      text << "futex_wait(a" << a_kind << ":" << a_index << ", val " << v_kind << ":" << v_bits
           << ", mask " << mask << ", flags " << f << ", ts " << ts_kind << ", clock " << clock
           << ")";
      args = [=, &timeout](Side& s) -> std::array<std::uint64_t, 6> {
        return {s.address(a_kind, a_index), s.value(v_kind, v_bits), mask, f, timeout(s),
                static_cast<std::uint64_t>(clock)};
      };
    } else {
      nr = 456;  // futex_requeue(waiters, flags, nr_wake, nr_requeue)
      const std::uint32_t f = c.below(10) == 0 ? 1 : 0;
      static constexpr std::uint32_t kFlags[] = {2, 2 | 128, 3};
      const std::uint32_t f0 = kFlags[c.below(3)];
      const std::uint32_t f1 = kFlags[c.below(3)];
      text << "futex_requeue(a" << a_kind << ":" << a_index << " f" << f0 << ", b" << b_kind << ":"
           << b_index << " f" << f1 << ", flags " << f << ", " << count1 << ", " << count2
           << ")";
      args = [=](Side& s) -> std::array<std::uint64_t, 6> {
        const Addr vec = s.scratch + 256;
        const std::uint64_t w[6] = {s.value(v_kind, v_bits), s.address(a_kind, a_index), f0,
                                    0, s.address(b_kind, b_index), f1};
        s.backend->write(vec, w, sizeof(w));
        return {vec, f, static_cast<std::uint64_t>(count1), static_cast<std::uint64_t>(count2), 0,
                0};
      };
    }

    // A PI op interprets the word's TID bits; on the host any live PID counts (init, kernel
    // threads: EPERM), which futexbox's own TID namespace cannot mirror. So a TID that is neither
    // 0, one of ours, nor beyond pid_max is replaced by one no host thread can have.
    if (family < 7 && a_kind == 0) {
      const std::uint32_t cmd = static_cast<std::uint32_t>(args(host)[1]) & 127;
      if (cmd == FUTEX_LOCK_PI || cmd == FUTEX_TRYLOCK_PI || cmd == FUTEX_LOCK_PI2) {
        const std::uint32_t v = host.backend->load(host.address(0, a_index));
        const std::uint32_t tid = v & kTidMask;
        if (tid != 0 && tid != host.me && tid != host.other && tid < pid_max()) {
          const std::uint32_t fixed = (v & ~kTidMask) | kDeadTid;
          host.backend->store(host.address(0, a_index), fixed);
          emu.backend->store(emu.address(0, a_index), fixed);
        }
      }
    }
    const auto ha = args(host);
    const auto ea = args(emu);
    const std::int64_t hr = host.backend->syscall(nr, ha[0], ha[1], ha[2], ha[3], ha[4], ha[5]);
    const std::int64_t er = emu.backend->syscall(nr, ea[0], ea[1], ea[2], ea[3], ea[4], ea[5]);
    std::ostringstream diff;
    if (hr != er) diff << "result: host " << hr << ", futexbox " << er << "\n";
    for (int i = 0; i < kWords; ++i) {
      const std::uint32_t hv = host.backend->load(host.address(0, i));
      const std::uint32_t ev = emu.backend->load(emu.address(0, i));
      if (hv != ev) diff << "word " << i << ": host " << hv << ", futexbox " << ev << "\n";
    }
    if (!diff.str().empty()) {
      return "step " + std::to_string(step) + ": " + text.str() + "\n" + diff.str();
    }
  }
  return "";
}

}  // namespace futexbox::fuzz
