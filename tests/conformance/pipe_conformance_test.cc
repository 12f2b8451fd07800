// Pipes, eventfds, descriptors and poll, against the host kernel and against futexbox, with the
// same expectations. Descriptor numbers differ between backends (the host process has others
// open), so tests never assume them; where Linux's exact byte accounting matters (slot merging,
// partial writes) a scenario runs on both backends in one test and their results are compared.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstring>
#include <functional>
#include <memory>
#include <numeric>
#include <thread>
#include <vector>

#include "tests/conformance/backend.h"
#include "tests/conformance/backend_kind.h"
#include "tests/conformance/syscall_matchers.h"
#include "tests/util/test_util.h"

namespace futexbox::conformance {
namespace {

using futexbox::testing::eventually;
using ::testing::ElementsAre;
using namespace std::chrono_literals;

constexpr std::uint64_t kNonblock = 0x800, kDirect = 0x4000, kCloexec = 0x80000,
                        kAppend = 0x400;
constexpr std::uint64_t kEfdSemaphore = 1;
constexpr int kFGetFd = 1, kFSetFd = 2, kFGetFl = 3, kFSetFl = 4, kFDupFd = 0,
              kFDupFdCloexec = 1030, kFSetPipeSz = 1031, kFGetPipeSz = 1032;
constexpr std::uint64_t kFionread = 0x541b, kFioclex = 0x5451, kFionbio = 0x5421;
constexpr std::int16_t kPollIn = 1, kPollOut = 4, kPollErr = 8, kPollHup = 0x10,
                       kPollNval = 0x20, kPollRdNorm = 0x40, kPollWrNorm = 0x100;
constexpr int kUsr2 = 12, kSigPipe = 13;
constexpr std::uint64_t kSaSigInfo = 0x4, kSaRestorer = 0x04000000, kSaRestart = 0x10000000;

using Kind = BackendKind;

struct PollFd {
  std::int32_t fd;
  std::int16_t events;
  std::int16_t revents;
};

// Syscall helpers over one backend (descriptors are closed when it goes away).
class Io {
 public:
  explicit Io(Backend& b) : b_(b) {}
  ~Io() {
    for (const std::int64_t fd : opened_) b_.syscall(SYS_close, static_cast<std::uint64_t>(fd));
  }
  Backend& b() { return b_; }
  // pipe2; {read end, write end}.
  std::pair<std::int64_t, std::int64_t> pipe(std::uint64_t flags = 0) {
    const Addr fds = b_.alloc(8);
    const std::int64_t r = b_.syscall(SYS_pipe2, fds, flags);
    EXPECT_THAT(r, SyscallSucceeds());
    const auto rfd = static_cast<std::int32_t>(b_.load(fds));
    const auto wfd = static_cast<std::int32_t>(b_.load(fds + 4));
    track(rfd);
    track(wfd);
    return {rfd, wfd};
  }
  std::int64_t eventfd(std::uint64_t initval, std::uint64_t flags = 0) {
    const std::int64_t fd = b_.syscall(SYS_eventfd2, initval, flags);
    EXPECT_THAT(fd, SyscallSucceeds());
    track(fd);
    return fd;
  }
  void track(std::int64_t fd) { opened_.push_back(fd); }
  std::int64_t write(std::int64_t fd, const std::vector<char>& data) {
    const Addr buf = b_.alloc(data.size() + 1);
    if (!data.empty()) b_.write(buf, data.data(), data.size());
    return b_.syscall(SYS_write, static_cast<std::uint64_t>(fd), buf, data.size());
  }
  std::int64_t write(std::int64_t fd, std::size_t n, char fill = 'x') {
    return write(fd, std::vector<char>(n, fill));
  }
  // read(2) of up to `n`; the bytes read in `out`.
  std::int64_t read(std::int64_t fd, std::size_t n, std::vector<char>* out = nullptr) {
    const Addr buf = b_.alloc(n + 1);
    const std::int64_t r = b_.syscall(SYS_read, static_cast<std::uint64_t>(fd), buf, n);
    if (out != nullptr && r > 0) {
      out->resize(static_cast<std::size_t>(r));
      b_.read(buf, out->data(), out->size());
    }
    return r;
  }
  std::int64_t write_u64(std::int64_t fd, std::uint64_t v) {
    return b_.syscall(SYS_write, static_cast<std::uint64_t>(fd), b_.put(v), 8);
  }
  std::int64_t read_u64(std::int64_t fd, std::uint64_t* v) {
    const Addr buf = b_.alloc(8);
    const std::int64_t r = b_.syscall(SYS_read, static_cast<std::uint64_t>(fd), buf, 8);
    if (r == 8) *v = b_.read_as<std::uint64_t>(buf);
    return r;
  }
  std::int64_t fionread(std::int64_t fd) {
    const Addr n = b_.alloc(4);
    const std::int64_t r = b_.syscall(SYS_ioctl, static_cast<std::uint64_t>(fd), kFionread, n);
    return r < 0 ? r : static_cast<std::int32_t>(b_.load(n));
  }
  std::int64_t fcntl(std::int64_t fd, int cmd, std::uint64_t arg = 0) {
    return b_.syscall(SYS_fcntl, static_cast<std::uint64_t>(fd), static_cast<std::uint64_t>(cmd),
                      arg);
  }
  std::int64_t close(std::int64_t fd) {
    std::erase(opened_, fd);
    return b_.syscall(SYS_close, static_cast<std::uint64_t>(fd));
  }
  // poll(2) on {fd, events} pairs; the revents in `revents`.
  std::int64_t poll(const std::vector<std::pair<std::int64_t, std::int16_t>>& fds, int timeout_ms,
                    std::vector<std::int16_t>* revents) {
    std::vector<PollFd> raw;
    for (auto [fd, ev] : fds) raw.push_back(PollFd{static_cast<std::int32_t>(fd), ev, 0x7777});
    const Addr a = b_.alloc(raw.size() * sizeof(PollFd) + 8);
    if (!raw.empty()) b_.write(a, raw.data(), raw.size() * sizeof(PollFd));
    const std::int64_t r = b_.syscall(SYS_poll, a, raw.size(),
                                      static_cast<std::uint64_t>(static_cast<std::int64_t>(timeout_ms)));
    if (revents != nullptr) {
      revents->clear();
      for (std::size_t i = 0; i < raw.size(); ++i) {
        revents->push_back(b_.read_as<PollFd>(a + i * sizeof(PollFd)).revents);
      }
    }
    return r;
  }
  std::int16_t revents_of(std::int64_t fd, std::int16_t events) {
    std::vector<std::int16_t> r;
    EXPECT_THAT(poll({{fd, events}}, 0, &r), SyscallSucceeds());
    return r.at(0);
  }
  std::int64_t set_action(int sig, std::uint64_t handler, std::uint64_t flags) {
    struct {
      std::uint64_t handler, flags, restorer, mask;
    } act{handler, flags | kSaRestorer, b_.signal_restorer(), 0};
    return b_.syscall(SYS_rt_sigaction, static_cast<std::uint64_t>(sig), b_.put(act), 0, 8);
  }

 private:
  Backend& b_;
  std::vector<std::int64_t> opened_;
};

class PipeTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    b_ = make_backend(GetParam());
    io_ = std::make_unique<Io>(*b_);
  }
  void TearDown() override {
    io_.reset();
    b_.reset();
  }
  std::unique_ptr<Backend> b_;
  std::unique_ptr<Io> io_;
};

// ---------------------------------------------------------------- pipe basics

TEST_P(PipeTest, Pipe2ValidatesFlagsAndPointer) {
  EXPECT_THAT(b_->syscall(SYS_pipe2, b_->alloc(8), kAppend), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_pipe2, b_->unmapped_page(), 0), SyscallFailsWithErrno(EFAULT));
  EXPECT_THAT(b_->syscall(SYS_pipe2, b_->readonly_page(), 0), SyscallFailsWithErrno(EFAULT));
}

TEST_P(PipeTest, EndsHaveTheirAccessModeAndFlags) {
  auto [r, w] = io_->pipe();
  EXPECT_THAT(io_->fcntl(r, kFGetFl), SyscallSucceedsWithValue(0));
  EXPECT_THAT(io_->fcntl(w, kFGetFl), SyscallSucceedsWithValue(1));
  auto [r2, w2] = io_->pipe(kNonblock | kDirect | kCloexec);
  // O_DIRECT (packet mode) belongs to the write end only.
  EXPECT_THAT(io_->fcntl(r2, kFGetFl), SyscallSucceedsWithValue(kNonblock));
  EXPECT_THAT(io_->fcntl(w2, kFGetFl), SyscallSucceedsWithValue(1 | kNonblock | kDirect));
  EXPECT_THAT(io_->fcntl(r2, kFGetFd), SyscallSucceedsWithValue(1));
  EXPECT_THAT(io_->fcntl(r, kFGetFd), SyscallSucceedsWithValue(0));
  EXPECT_THAT(io_->fcntl(r, kFGetPipeSz), SyscallSucceedsWithValue(65536));
}

TEST_P(PipeTest, BytesGoThroughInOrder) {
  auto [r, w] = io_->pipe();
  EXPECT_THAT(io_->write(w, {'a', 'b', 'c'}), SyscallSucceedsWithValue(3));
  EXPECT_THAT(io_->write(w, {'d', 'e'}), SyscallSucceedsWithValue(2));
  EXPECT_THAT(io_->fionread(r), SyscallSucceedsWithValue(5));
  std::vector<char> got;
  EXPECT_THAT(io_->read(r, 4, &got), SyscallSucceedsWithValue(4));
  EXPECT_EQ(std::string(got.begin(), got.end()), "abcd");
  EXPECT_THAT(io_->read(r, 100, &got), SyscallSucceedsWithValue(1));
  EXPECT_EQ(got[0], 'e');
  EXPECT_THAT(io_->read(r, 0), SyscallSucceedsWithValue(0));
  EXPECT_THAT(io_->write(w, 0), SyscallSucceedsWithValue(0));
}

TEST_P(PipeTest, WrongEndOrClosedDescriptorIsEbadf) {
  auto [r, w] = io_->pipe();
  EXPECT_THAT(io_->read(w, 1), SyscallFailsWithErrno(EBADF));
  EXPECT_THAT(io_->write(r, 1), SyscallFailsWithErrno(EBADF));
  EXPECT_THAT(io_->read(999, 1), SyscallFailsWithErrno(EBADF));
  EXPECT_THAT(io_->read(-1, 1), SyscallFailsWithErrno(EBADF));
  EXPECT_THAT(io_->close(999), SyscallFailsWithErrno(EBADF));
  EXPECT_THAT(io_->fionread(999), SyscallFailsWithErrno(EBADF));
  EXPECT_THAT(io_->close(w), SyscallSucceeds());
  EXPECT_THAT(io_->close(w), SyscallFailsWithErrno(EBADF));
  EXPECT_THAT(io_->fcntl(w, kFGetFl), SyscallFailsWithErrno(EBADF));
}

TEST_P(PipeTest, BadBuffersFault) {
  auto [r, w] = io_->pipe();
  EXPECT_THAT(b_->syscall(SYS_write, static_cast<std::uint64_t>(w), b_->unmapped_page(), 10),
              SyscallFailsWithErrno(EFAULT));
  EXPECT_THAT(io_->fionread(r), SyscallSucceedsWithValue(0));
  ASSERT_THAT(io_->write(w, 10), SyscallSucceedsWithValue(10));
  EXPECT_THAT(b_->syscall(SYS_read, static_cast<std::uint64_t>(r), b_->readonly_page(), 10),
              SyscallFailsWithErrno(EFAULT));
  // The data stays for the next read.
  EXPECT_THAT(io_->fionread(r), SyscallSucceedsWithValue(10));
  // A count no buffer can have is EFAULT before anything else.
  EXPECT_THAT(b_->syscall(SYS_read, static_cast<std::uint64_t>(r), b_->alloc(8), ~0ull),
              SyscallFailsWithErrno(EFAULT));
}

TEST_P(PipeTest, ReadGivesEofOnceEveryWriterHasClosed) {
  auto [r, w] = io_->pipe(kNonblock);
  const std::int64_t w2 = b_->syscall(SYS_dup, static_cast<std::uint64_t>(w));
  ASSERT_THAT(w2, SyscallSucceeds());
  io_->track(w2);
  EXPECT_THAT(io_->read(r, 1), SyscallFailsWithErrno(EAGAIN));
  ASSERT_THAT(io_->write(w2, 2), SyscallSucceeds());
  ASSERT_THAT(io_->close(w), SyscallSucceeds());
  EXPECT_THAT(io_->read(r, 1), SyscallSucceedsWithValue(1));
  EXPECT_THAT(io_->read(r, 10), SyscallSucceedsWithValue(1));
  EXPECT_THAT(io_->read(r, 1), SyscallFailsWithErrno(EAGAIN));  // a writer is left (the dup)
  ASSERT_THAT(io_->close(w2), SyscallSucceeds());
  EXPECT_THAT(io_->read(r, 1), SyscallSucceedsWithValue(0));
}

TEST_P(PipeTest, WriteWithoutReadersIsEpipeAndRaisesSigpipe) {
  ASSERT_THAT(io_->set_action(kSigPipe, b_->recording_handler(), kSaSigInfo), SyscallSucceeds());
  auto [r, w] = io_->pipe();
  ASSERT_THAT(io_->close(r), SyscallSucceeds());
  EXPECT_THAT(io_->write(w, 5), SyscallFailsWithErrno(EPIPE));
  const auto d = b_->take_deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].signo, kSigPipe);
  EXPECT_EQ(d[0].code, 0);  // SI_USER
  EXPECT_EQ(d[0].pid, static_cast<pid_t>(b_->syscall(SYS_getpid)));
  EXPECT_EQ(d[0].tid, static_cast<pid_t>(b_->syscall(SYS_gettid)));
  // A null write succeeds even so.
  EXPECT_THAT(io_->write(w, 0), SyscallSucceedsWithValue(0));
  EXPECT_TRUE(b_->take_deliveries().empty());
}

TEST_P(PipeTest, NonblockingWriterFillsSixteenPagesThenEagain) {
  auto [r, w] = io_->pipe(kNonblock);
  int writes = 0;
  while (io_->write(w, 4096) == 4096) ++writes;
  EXPECT_EQ(writes, 16);
  EXPECT_THAT(io_->write(w, 1), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(io_->fionread(r), SyscallSucceedsWithValue(65536));
  // Room for one page again: a PIPE_BUF-sized write fits whole, a larger one is partial.
  ASSERT_THAT(io_->read(r, 4096), SyscallSucceedsWithValue(4096));
  EXPECT_THAT(io_->write(w, 6000), SyscallSucceedsWithValue(4096));
}

TEST_P(PipeTest, PacketModeKeepsWriteBoundaries) {
  auto [r, w] = io_->pipe(kDirect);
  ASSERT_THAT(io_->write(w, 10, 'a'), SyscallSucceedsWithValue(10));
  ASSERT_THAT(io_->write(w, 20, 'b'), SyscallSucceedsWithValue(20));
  ASSERT_THAT(io_->write(w, 5000, 'c'), SyscallSucceedsWithValue(5000));  // two packets
  std::vector<char> got;
  EXPECT_THAT(io_->read(r, 100, &got), SyscallSucceedsWithValue(10));
  // A short read takes part of a packet and drops the rest.
  EXPECT_THAT(io_->read(r, 5, &got), SyscallSucceedsWithValue(5));
  EXPECT_EQ(got[0], 'b');
  EXPECT_THAT(io_->read(r, 10000, &got), SyscallSucceedsWithValue(4096));
  EXPECT_THAT(io_->read(r, 10000, &got), SyscallSucceedsWithValue(904));
  EXPECT_THAT(io_->fionread(r), SyscallSucceedsWithValue(0));
}

TEST_P(PipeTest, SetPipeSizeRoundsChecksAndRefusesToDropData) {
  auto [r, w] = io_->pipe();
  EXPECT_THAT(io_->fcntl(w, kFSetPipeSz, 0), SyscallSucceedsWithValue(4096));
  EXPECT_THAT(io_->fcntl(w, kFSetPipeSz, 5000), SyscallSucceedsWithValue(8192));
  EXPECT_THAT(io_->fcntl(r, kFGetPipeSz), SyscallSucceedsWithValue(8192));
  EXPECT_THAT(io_->fcntl(w, kFSetPipeSz, 0x80000001u), SyscallFailsWithErrno(EINVAL));
  ASSERT_THAT(io_->write(w, 8192), SyscallSucceedsWithValue(8192));
  EXPECT_THAT(io_->fcntl(w, kFSetPipeSz, 4096), SyscallFailsWithErrno(EBUSY));
  EXPECT_THAT(io_->fcntl(w, kFSetPipeSz, 65536), SyscallSucceedsWithValue(65536));
  // The data survives the resize, in order.
  std::vector<char> got;
  EXPECT_THAT(io_->read(r, 10000, &got), SyscallSucceedsWithValue(8192));
  const std::int64_t efd = io_->eventfd(0);
  EXPECT_THAT(io_->fcntl(efd, kFGetPipeSz), SyscallFailsWithErrno(EBADF));
  EXPECT_THAT(io_->fcntl(r, 9999), SyscallFailsWithErrno(EINVAL));
}

TEST_P(PipeTest, NonblockIsSharedByDupsCloexecIsPerDescriptor) {
  auto [r, w] = io_->pipe();
  const std::int64_t r2 = io_->fcntl(r, kFDupFdCloexec, 0);
  ASSERT_THAT(r2, SyscallSucceeds());
  io_->track(r2);
  EXPECT_THAT(io_->fcntl(r2, kFGetFd), SyscallSucceedsWithValue(1));
  EXPECT_THAT(io_->fcntl(r, kFGetFd), SyscallSucceedsWithValue(0));
  ASSERT_THAT(io_->fcntl(r, kFSetFl, kNonblock | kAppend), SyscallSucceeds());
  EXPECT_THAT(io_->fcntl(r2, kFGetFl), SyscallSucceedsWithValue(kNonblock | kAppend));
  EXPECT_THAT(io_->read(r2, 1), SyscallFailsWithErrno(EAGAIN));
  ASSERT_THAT(io_->fcntl(r2, kFSetFl, 0), SyscallSucceeds());
  ASSERT_THAT(io_->fcntl(r, kFSetFd, 1), SyscallSucceeds());
  EXPECT_THAT(io_->fcntl(r, kFGetFd), SyscallSucceedsWithValue(1));
  ASSERT_THAT(b_->syscall(SYS_ioctl, static_cast<std::uint64_t>(r), kFionbio, b_->put(1)),
              SyscallSucceeds());
  EXPECT_THAT(io_->fcntl(r2, kFGetFl), SyscallSucceedsWithValue(kNonblock));
  ASSERT_THAT(b_->syscall(SYS_ioctl, static_cast<std::uint64_t>(r2), kFioclex), SyscallSucceeds());
  EXPECT_THAT(io_->fcntl(r2, kFGetFd), SyscallSucceedsWithValue(1));
  EXPECT_THAT(b_->syscall(SYS_ioctl, static_cast<std::uint64_t>(r), 0x1234), SyscallFailsWithErrno(ENOTTY));
  // F_DUPFD finds the lowest free number at or above its argument.
  const std::int64_t high = io_->fcntl(w, kFDupFd, 200);
  EXPECT_THAT(high, SyscallSucceedsWithValue(200));
  io_->track(high);
  EXPECT_THAT(io_->fcntl(w, kFDupFd, 1u << 20), SyscallFailsWithErrno(EINVAL));
}

TEST_P(PipeTest, Dup2AndDup3) {
  auto [r, w] = io_->pipe();
  const auto rr = static_cast<std::uint64_t>(r);
  EXPECT_THAT(b_->syscall(SYS_dup2, rr, rr), SyscallSucceedsWithValue(r));
  EXPECT_THAT(b_->syscall(SYS_dup2, 999, 999), SyscallFailsWithErrno(EBADF));
  EXPECT_THAT(b_->syscall(SYS_dup3, rr, rr, 0), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_dup3, rr, 300, kNonblock), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_dup2, 999, 300), SyscallFailsWithErrno(EBADF));
  EXPECT_THAT(b_->syscall(SYS_dup2, rr, 1u << 20), SyscallFailsWithErrno(EBADF));
  ASSERT_THAT(b_->syscall(SYS_dup3, static_cast<std::uint64_t>(w), 300, kCloexec),
              SyscallSucceedsWithValue(300));
  io_->track(300);
  EXPECT_THAT(io_->fcntl(300, kFGetFd), SyscallSucceedsWithValue(1));
  // dup2 onto an open descriptor closes what it was.
  ASSERT_THAT(b_->syscall(SYS_dup2, rr, 300), SyscallSucceedsWithValue(300));
  EXPECT_THAT(io_->fcntl(300, kFGetFl), SyscallSucceedsWithValue(0));
  EXPECT_THAT(io_->fcntl(300, kFGetFd), SyscallSucceedsWithValue(0));
  ASSERT_THAT(io_->close(w), SyscallSucceeds());
  EXPECT_THAT(io_->read(300, 1), SyscallSucceedsWithValue(0));  // no writer left
}

TEST_P(PipeTest, ReadvAndWritevGatherAndScatter) {
  auto [r, w] = io_->pipe();
  struct Iov {
    std::uint64_t base, len;
  };
  const Addr a = b_->alloc(4);
  const Addr c = b_->alloc(4);
  b_->write(a, "abc", 3);
  b_->write(c, "defg", 4);
  const Iov out[] = {{a, 3}, {0, 0}, {c, 4}};
  const Addr outv = b_->alloc(sizeof(out));
  b_->write(outv, out, sizeof(out));
  EXPECT_THAT(b_->syscall(SYS_writev, static_cast<std::uint64_t>(w), outv, 3),
              SyscallSucceedsWithValue(7));
  const Addr x = b_->alloc(8);
  const Addr y = b_->alloc(8);
  const Iov in[] = {{x, 2}, {y, 8}};
  const Addr inv = b_->alloc(sizeof(in));
  b_->write(inv, in, sizeof(in));
  EXPECT_THAT(b_->syscall(SYS_readv, static_cast<std::uint64_t>(r), inv, 2),
              SyscallSucceedsWithValue(7));
  char got[8] = {};
  b_->read(x, got, 2);
  b_->read(y, got + 2, 5);
  EXPECT_EQ(std::string(got, 7), "abcdefg");
  EXPECT_THAT(b_->syscall(SYS_writev, static_cast<std::uint64_t>(w), outv, 0),
              SyscallSucceedsWithValue(0));
  EXPECT_THAT(b_->syscall(SYS_writev, static_cast<std::uint64_t>(w), outv, 1025),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_writev, static_cast<std::uint64_t>(w), b_->unmapped_page(), 2),
              SyscallFailsWithErrno(EFAULT));
  const Iov negative[] = {{a, 3}, {c, ~0ull}};
  const Addr negv = b_->alloc(sizeof(negative));
  b_->write(negv, negative, sizeof(negative));
  EXPECT_THAT(b_->syscall(SYS_writev, static_cast<std::uint64_t>(w), negv, 2),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_readv, static_cast<std::uint64_t>(w), inv, 2),
              SyscallFailsWithErrno(EBADF));
}

// ---------------------------------------------------------------- blocking and signals

TEST_P(PipeTest, BlockingReadWaitsForAWriter) {
  auto [r, w] = io_->pipe();
  std::atomic<std::int64_t> got{0};
  auto t = b_->spawn([&] { got = io_->read(r, 100); });
  ASSERT_TRUE(eventually([&] { return t->sleeping(); }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(got, 0);
  ASSERT_THAT(io_->write(w, 42), SyscallSucceedsWithValue(42));
  t->join();
  EXPECT_THAT(got, SyscallSucceedsWithValue(42));
}

TEST_P(PipeTest, BlockingReadEndsWithEofWhenTheLastWriterCloses) {
  auto [r, w] = io_->pipe();
  std::atomic<std::int64_t> got{-1};
  auto t = b_->spawn([&] { got = io_->read(r, 100); });
  ASSERT_TRUE(eventually([&] { return t->sleeping(); }));
  std::this_thread::sleep_for(20ms);
  ASSERT_THAT(io_->close(w), SyscallSucceeds());
  t->join();
  EXPECT_THAT(got, SyscallSucceedsWithValue(0));
}

TEST_P(PipeTest, BlockingReadInterruptedIsEintrOrRestartsWithSaRestart) {
  auto [r, w] = io_->pipe();
  std::atomic<std::int64_t> got{0};
  auto t = b_->spawn([&] { got = io_->read(r, 100); });
  ASSERT_TRUE(eventually([&] { return t->sleeping(); }));
  std::this_thread::sleep_for(20ms);
  t->interrupt();
  t->join();
  EXPECT_THAT(got, SyscallFailsWithErrno(EINTR));
  b_->take_deliveries();

  ASSERT_THAT(io_->set_action(kUsr2, b_->recording_handler(), kSaSigInfo | kSaRestart),
              SyscallSucceeds());
  got = 0;
  auto t2 = b_->spawn([&] { got = io_->read(r, 100); });
  ASSERT_TRUE(eventually([&] { return t2->sleeping(); }));
  std::this_thread::sleep_for(20ms);
  ASSERT_THAT(b_->syscall(SYS_tgkill, static_cast<std::uint64_t>(b_->syscall(SYS_getpid)),
                          static_cast<std::uint64_t>(t2->tid()), kUsr2),
              SyscallSucceeds());
  ASSERT_TRUE(eventually([&] { return !b_->take_deliveries().empty(); }));
  ASSERT_TRUE(eventually([&] { return t2->sleeping(); }));
  EXPECT_EQ(got, 0);  // restarted, still waiting
  ASSERT_THAT(io_->write(w, 3), SyscallSucceedsWithValue(3));
  t2->join();
  EXPECT_THAT(got, SyscallSucceedsWithValue(3));
}

TEST_P(PipeTest, InterruptedWriteThatMovedBytesReturnsTheCount) {
  auto [r, w] = io_->pipe();
  ASSERT_THAT(io_->write(w, 15 * 4096), SyscallSucceedsWithValue(15 * 4096));
  std::atomic<std::int64_t> got{0};
  auto t = b_->spawn([&] { got = io_->write(w, 3 * 4096); });
  ASSERT_TRUE(eventually([&] { return t->sleeping(); }));
  std::this_thread::sleep_for(20ms);
  t->interrupt();
  t->join();
  EXPECT_THAT(got, SyscallSucceedsWithValue(4096));
  EXPECT_THAT(io_->fionread(r), SyscallSucceedsWithValue(65536));
}

TEST_P(PipeTest, BlockedWriterGetsEpipeWhenTheReaderCloses) {
  auto [r, w] = io_->pipe();
  ASSERT_THAT(io_->set_action(kSigPipe, b_->recording_handler(), kSaSigInfo), SyscallSucceeds());
  ASSERT_THAT(io_->write(w, 65536), SyscallSucceedsWithValue(65536));
  std::atomic<std::int64_t> got{0};
  auto t = b_->spawn([&] { got = io_->write(w, 100); });
  ASSERT_TRUE(eventually([&] { return t->sleeping(); }));
  std::this_thread::sleep_for(20ms);
  ASSERT_THAT(io_->close(r), SyscallSucceeds());
  t->join();
  EXPECT_THAT(got, SyscallFailsWithErrno(EPIPE));
  const auto d = b_->take_deliveries();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].tid, t->tid());
}

// ---------------------------------------------------------------- poll

TEST_P(PipeTest, PollReportsPipeReadiness) {
  auto [r, w] = io_->pipe();
  EXPECT_EQ(io_->revents_of(r, kPollIn), 0);
  EXPECT_EQ(io_->revents_of(w, kPollOut | kPollIn), kPollOut);
  EXPECT_EQ(io_->revents_of(w, static_cast<std::int16_t>(kPollOut | kPollWrNorm)),
            kPollOut | kPollWrNorm);
  ASSERT_THAT(io_->write(w, 1), SyscallSucceeds());
  EXPECT_EQ(io_->revents_of(r, static_cast<std::int16_t>(kPollIn | kPollRdNorm)),
            kPollIn | kPollRdNorm);
  std::vector<std::int16_t> rev;
  EXPECT_THAT(io_->poll({{r, kPollIn}, {-1, kPollIn}, {999, kPollIn}, {w, kPollOut}}, 0, &rev),
              SyscallSucceedsWithValue(3));
  EXPECT_THAT(rev, ElementsAre(kPollIn, 0, kPollNval, kPollOut));
  ASSERT_THAT(io_->close(w), SyscallSucceeds());
  // POLLHUP is reported even when not asked for.
  EXPECT_EQ(io_->revents_of(r, 0), kPollHup);
  EXPECT_EQ(io_->revents_of(r, kPollIn), kPollIn | kPollHup);
  auto [r2, w2] = io_->pipe();
  ASSERT_THAT(io_->close(r2), SyscallSucceeds());
  EXPECT_EQ(io_->revents_of(w2, kPollOut), kPollOut | kPollErr);
  EXPECT_THAT(b_->syscall(SYS_poll, b_->unmapped_page(), 1, 0), SyscallFailsWithErrno(EFAULT));
  EXPECT_THAT(b_->syscall(SYS_poll, b_->alloc(8), 1u << 20, 0), SyscallFailsWithErrno(EINVAL));
}

TEST_P(PipeTest, PollWaitsForDataAndTimesOut) {
  auto [r, w] = io_->pipe();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THAT(io_->poll({{r, kPollIn}}, 50, nullptr), SyscallSucceedsWithValue(0));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
  std::atomic<std::int64_t> got{-1};
  std::vector<std::int16_t> rev;
  auto t = b_->spawn([&] { got = io_->poll({{r, kPollIn}, {w, 0}}, -1, &rev); });
  ASSERT_TRUE(eventually([&] { return t->sleeping(); }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(got, -1);
  ASSERT_THAT(io_->write(w, 1), SyscallSucceeds());
  t->join();
  EXPECT_THAT(got, SyscallSucceedsWithValue(1));
  EXPECT_THAT(rev, ElementsAre(kPollIn, 0));
}

TEST_P(PipeTest, PollInterruptedIsEintr) {
  auto [r, w] = io_->pipe();
  std::atomic<std::int64_t> got{0};
  auto t = b_->spawn([&] { got = io_->poll({{r, kPollIn}}, 10000, nullptr); });
  ASSERT_TRUE(eventually([&] { return t->sleeping(); }));
  std::this_thread::sleep_for(20ms);
  t->interrupt();
  t->join();
  EXPECT_THAT(got, SyscallFailsWithErrno(EINTR));
  (void)w;
}

TEST_P(PipeTest, PpollWritesBackTheTimeLeftAndChecksItsArguments) {
  auto [r, w] = io_->pipe();
  const Addr fds = b_->put(PollFd{static_cast<std::int32_t>(r), kPollIn, 0});
  const Addr ts = b_->timespec(0, 30'000'000);
  EXPECT_THAT(b_->syscall(SYS_ppoll, fds, 1, ts, 0, 8), SyscallSucceedsWithValue(0));
  struct {
    std::int64_t sec, nsec;
  } left{};
  b_->read(ts, &left, sizeof(left));
  EXPECT_EQ(left.sec, 0);
  EXPECT_EQ(left.nsec, 0);
  EXPECT_THAT(b_->syscall(SYS_ppoll, fds, 1, b_->timespec(0, 1'000'000'000), 0, 8),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_ppoll, fds, 1, b_->unmapped_page(), 0, 8),
              SyscallFailsWithErrno(EFAULT));
  EXPECT_THAT(b_->syscall(SYS_ppoll, fds, 1, b_->timespec(0, 0), b_->put(std::uint64_t{0}), 4),
              SyscallFailsWithErrno(EINVAL));
  ASSERT_THAT(io_->write(w, 1), SyscallSucceeds());
  const Addr ts2 = b_->timespec(5, 0);
  EXPECT_THAT(b_->syscall(SYS_ppoll, fds, 1, ts2, b_->put(std::uint64_t{0}), 8),
              SyscallSucceedsWithValue(1));
  b_->read(ts2, &left, sizeof(left));
  EXPECT_TRUE(left.sec == 4 || left.sec == 5) << left.sec;
}

// ---------------------------------------------------------------- eventfd

TEST_P(PipeTest, EventfdCountsAndValidates) {
  EXPECT_THAT(b_->syscall(SYS_eventfd2, 0, 0x10), SyscallFailsWithErrno(EINVAL));
  const std::int64_t fd = io_->eventfd(3);
  EXPECT_THAT(io_->fcntl(fd, kFGetFl), SyscallSucceedsWithValue(2));  // O_RDWR
  std::uint64_t v = 0;
  EXPECT_THAT(io_->read_u64(fd, &v), SyscallSucceedsWithValue(8));
  EXPECT_EQ(v, 3u);
  ASSERT_THAT(io_->fcntl(fd, kFSetFl, kNonblock), SyscallSucceeds());
  EXPECT_THAT(io_->read_u64(fd, &v), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(io_->write_u64(fd, 5), SyscallSucceedsWithValue(8));
  EXPECT_THAT(io_->write_u64(fd, 2), SyscallSucceedsWithValue(8));
  EXPECT_THAT(io_->read_u64(fd, &v), SyscallSucceedsWithValue(8));
  EXPECT_EQ(v, 7u);
  EXPECT_THAT(io_->write_u64(fd, ~0ull), SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_read, static_cast<std::uint64_t>(fd), b_->alloc(8), 4),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_write, static_cast<std::uint64_t>(fd), b_->put(1ull), 7),
              SyscallFailsWithErrno(EINVAL));
  EXPECT_THAT(b_->syscall(SYS_write, static_cast<std::uint64_t>(fd), b_->unmapped_page(), 8),
              SyscallFailsWithErrno(EFAULT));
  EXPECT_THAT(io_->fionread(fd), SyscallFailsWithErrno(ENOTTY));
  // eventfd(2) is eventfd2 without flags.
  const std::int64_t plain = b_->syscall(SYS_eventfd, 1);
  ASSERT_THAT(plain, SyscallSucceeds());
  io_->track(plain);
  EXPECT_THAT(io_->fcntl(plain, kFGetFl), SyscallSucceedsWithValue(2));
}

TEST_P(PipeTest, EventfdSemaphoreModeTakesOneAtATime) {
  const std::int64_t fd = io_->eventfd(2, kEfdSemaphore | kNonblock | kCloexec);
  EXPECT_THAT(io_->fcntl(fd, kFGetFd), SyscallSucceedsWithValue(1));
  std::uint64_t v = 0;
  EXPECT_THAT(io_->read_u64(fd, &v), SyscallSucceedsWithValue(8));
  EXPECT_EQ(v, 1u);
  EXPECT_THAT(io_->read_u64(fd, &v), SyscallSucceedsWithValue(8));
  EXPECT_EQ(v, 1u);
  EXPECT_THAT(io_->read_u64(fd, &v), SyscallFailsWithErrno(EAGAIN));
}

TEST_P(PipeTest, EventfdOverflowBlocksOrIsEagainAndPollShowsIt) {
  const std::int64_t fd = io_->eventfd(0, kNonblock);
  EXPECT_EQ(io_->revents_of(fd, kPollIn | kPollOut), kPollOut);
  ASSERT_THAT(io_->write_u64(fd, 0xfffffffffffffffeull), SyscallSucceeds());
  EXPECT_EQ(io_->revents_of(fd, kPollIn | kPollOut), kPollIn);
  EXPECT_THAT(io_->write_u64(fd, 1), SyscallFailsWithErrno(EAGAIN));
  EXPECT_THAT(io_->write_u64(fd, 0), SyscallSucceedsWithValue(8));
  // A blocking writer waits for a reader to make room.
  ASSERT_THAT(io_->fcntl(fd, kFSetFl, 0), SyscallSucceeds());
  std::atomic<std::int64_t> got{0};
  auto t = b_->spawn([&] { got = io_->write_u64(fd, 5); });
  ASSERT_TRUE(eventually([&] { return t->sleeping(); }));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(got, 0);
  std::uint64_t v = 0;
  ASSERT_THAT(io_->read_u64(fd, &v), SyscallSucceedsWithValue(8));
  EXPECT_EQ(v, 0xfffffffffffffffeull);
  t->join();
  EXPECT_THAT(got, SyscallSucceedsWithValue(8));
  ASSERT_THAT(io_->read_u64(fd, &v), SyscallSucceedsWithValue(8));
  EXPECT_EQ(v, 5u);
}

TEST_P(PipeTest, EventfdBlockingReadIsWokenOrInterrupted) {
  const std::int64_t fd = io_->eventfd(0);
  std::atomic<std::int64_t> got{0};
  std::uint64_t v = 0;
  auto t = b_->spawn([&] { got = io_->read_u64(fd, &v); });
  ASSERT_TRUE(eventually([&] { return t->sleeping(); }));
  std::this_thread::sleep_for(20ms);
  ASSERT_THAT(io_->write_u64(fd, 9), SyscallSucceeds());
  t->join();
  EXPECT_THAT(got, SyscallSucceedsWithValue(8));
  EXPECT_EQ(v, 9u);
  auto t2 = b_->spawn([&] { got = io_->read_u64(fd, &v); });
  ASSERT_TRUE(eventually([&] { return t2->sleeping(); }));
  std::this_thread::sleep_for(20ms);
  t2->interrupt();
  t2->join();
  EXPECT_THAT(got, SyscallFailsWithErrno(EINTR));
}

TEST_P(PipeTest, DescriptorsRunOutAtTheLimit) {
  // The host's limit is this process's RLIMIT_NOFILE: lowered to the usual 1024 (the emulated
  // table's) for the test, put back after.
  rlimit saved{};
  getrlimit(RLIMIT_NOFILE, &saved);
  rlimit lim = saved;
  lim.rlim_cur = 1024;
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &lim), 0);
  struct Restore {
    rlimit r;
    ~Restore() { setrlimit(RLIMIT_NOFILE, &r); }
  } restore{saved};
  const std::int64_t fd = io_->eventfd(0);
  const Addr fds = b_->alloc(8);
  // Nothing but syscalls while the table is full (a sanitizer runtime may need a descriptor to
  // report anything); the results are checked after the descriptors are closed again.
  std::vector<std::int64_t> dups;
  std::int64_t failed_dup = 0;
  for (;;) {
    const std::int64_t d = b_->syscall(SYS_dup, static_cast<std::uint64_t>(fd));
    if (d < 0) {
      failed_dup = d;
      break;
    }
    dups.push_back(d);
  }
  const std::int64_t failed_pipe = b_->syscall(SYS_pipe2, fds, 0);
  for (const std::int64_t d : dups) b_->syscall(SYS_close, static_cast<std::uint64_t>(d));
  EXPECT_THAT(failed_dup, SyscallFailsWithErrno(EMFILE));
  EXPECT_THAT(failed_pipe, SyscallFailsWithErrno(EMFILE));
  EXPECT_GT(dups.size(), 900u);
}

INSTANTIATE_TEST_SUITE_P(All, PipeTest, all_backend_kinds(), backend_kind_name);

// ---------------------------------------------------------------- same results as the host

// Runs `scenario` on a host and an emulated backend and expects the same list of results.
void expect_same_as_host(const std::function<std::vector<std::int64_t>(Io&)>& scenario) {
  std::vector<std::int64_t> host;
  std::vector<std::int64_t> emulated;
  {
    auto b = make_host_backend();
    Io io(*b);
    host = scenario(io);
  }
  {
    auto b = make_emulated_backend();
    Io io(*b);
    emulated = scenario(io);
  }
  EXPECT_EQ(host, emulated);
  EXPECT_FALSE(host.empty());
}

TEST(PipeSameAsHost, SubPageWritesMergeOnlyWhenTheyFitWhole) {
  expect_same_as_host([](Io& io) {
    std::vector<std::int64_t> out;
    auto [r, w] = io.pipe(kNonblock);
    // Sizes chosen to straddle page boundaries: merges, fresh pages, partial tails.
    const std::size_t sizes[] = {100, 3996, 1, 4095, 4097, 5000, 3000, 2000, 8191, 1, 1, 4096,
                                 300, 7000, 12000, 9000, 4000, 100, 100, 70000};
    for (const std::size_t n : sizes) {
      out.push_back(io.write(w, n));
      out.push_back(io.fionread(r));
    }
    // Drain in odd-sized reads, then refill.
    for (int i = 0; i < 12; ++i) {
      out.push_back(io.read(r, 3333));
      out.push_back(io.write(w, 1500));
    }
    while (true) {
      const std::int64_t n = io.read(r, 5000);
      out.push_back(n);
      if (n <= 0) break;
    }
    return out;
  });
}

TEST(PipeSameAsHost, PacketModeUnderPressure) {
  expect_same_as_host([](Io& io) {
    std::vector<std::int64_t> out;
    auto [r, w] = io.pipe(kNonblock | kDirect);
    for (std::size_t n = 1; n < 30000; n = n * 3 + 7) out.push_back(io.write(w, n));
    for (int i = 0; i < 40; ++i) out.push_back(io.read(r, 1000 + static_cast<std::size_t>(i) * 100));
    return out;
  });
}

TEST(PipeSameAsHost, ResizedPipesKeepTheirSlotsAccounting) {
  expect_same_as_host([](Io& io) {
    std::vector<std::int64_t> out;
    auto [r, w] = io.pipe(kNonblock);
    out.push_back(io.fcntl(w, kFSetPipeSz, 3 * 4096));  // rounds up to 4 pages
    for (int i = 0; i < 10; ++i) out.push_back(io.write(w, 1500));
    out.push_back(io.fcntl(w, kFSetPipeSz, 4096));
    out.push_back(io.read(r, 2000));
    out.push_back(io.fcntl(w, kFSetPipeSz, 8 * 4096));
    for (int i = 0; i < 10; ++i) out.push_back(io.write(w, 3000));
    out.push_back(io.fionread(r));
    return out;
  });
}

}  // namespace
}  // namespace futexbox::conformance
