// End-to-end tests of `futexbox run`: programs run natively and under futexbox must print the
// same and exit the same, and --stats-json must show their private futex calls served, not
// forwarded. Guests are ours (tests/guests) and real programs from Debian packages.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/runner/process.h"
#include "tests/runner/served.h"
#include "tests/runner/test_paths.h"

namespace futexbox::testing {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

std::string temp_path(const std::string& name) {
  std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  for (char& c : test) {
    if (c == '/') c = '_';
  }
  return (std::filesystem::temp_directory_path() /
          (name + "." + std::to_string(getpid()) + "." + test))
      .string();
}

// --- our guests ---

class GuestProgram : public ::testing::TestWithParam<const char*> {};

TEST_P(GuestProgram, SameOutputAsNativeWithPrivateCallsServed) {
  const Served s = expect_same_as_native({guest(GetParam())});
  EXPECT_GE(s.stats.value("threads", 0), 2) << s.stats.dump(2);
}

INSTANTIATE_TEST_SUITE_P(Runner, GuestProgram,
                         ::testing::Values("mutex", "condvar", "semaphore", "barrier", "rwlock",
                                           "join", "cancel", "early"),
                         [](const auto& param_info) { return std::string(param_info.param); });

TEST(Runner, TimedWaitsTimeOutAndWake) {
  const Served s = expect_same_as_native({guest("timed")});
  EXPECT_THAT(s.run.out, Not(HasSubstr("too early")));
  EXPECT_GE(op_field(s, "FUTEX_WAIT_PRIVATE", "timeouts"), 1u) << s.stats.dump(2);
  EXPECT_GE(op_field(s, "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME", "timeouts"), 1u);
  EXPECT_GE(op_field(s, "FUTEX_WAIT_BITSET_PRIVATE", "timeouts"), 1u);
}

TEST(Runner, PiMutexServed) {
  const Served s = expect_same_as_native({guest("pi_mutex")});
  EXPECT_GE(served(s, "FUTEX_LOCK_PI_PRIVATE"), 1u) << s.stats.dump(2);
  EXPECT_GE(served(s, "FUTEX_UNLOCK_PI_PRIVATE"), 1u) << s.stats.dump(2);
}

TEST(Runner, SignalsInterruptWaitsByLinuxRules) {
  const Served s = expect_same_as_native({guest("signals")});
  // untimed without SA_RESTART, and both timed waits.
  EXPECT_GE(op_field(s, "FUTEX_WAIT_PRIVATE", "eintr"), 3u) << s.stats.dump(2);
  EXPECT_EQ(op_field(s, "FUTEX_WAKE_PRIVATE", "eintr"), 0u);
}

TEST(Runner, SignalStormLosesNoWakeup) {
  const Served s = expect_same_as_native({guest("storm")});
  EXPECT_THAT(s.run.out, HasSubstr("passes 12000 sem passes 12000"));
}

TEST(Runner, ForkVforkPosixSpawnAndRawFork) {
  const Served s = expect_same_as_native({guest("fork")});
  // The parent, two forked children, and the two /bin/echo images.
  EXPECT_GE(s.stats.value("processes", 0), 5) << s.stats.dump(2);
}

TEST(Runner, ExecImagesAreServedAgain) {
  const Served s = expect_same_as_native({guest("exec")});
  // The first image, two forked children and their images (the shell's too), and the last exec.
  EXPECT_GE(s.stats.value("processes", 0), 6) << s.stats.dump(2);
}

TEST(Runner, HandlerNeverAllocates) {
  const Served s = expect_same_as_native({guest("no_malloc")});
  EXPECT_THAT(s.run.out, HasSubstr("allocations during futex traffic: 0\n"));
  EXPECT_GE(served(s, "FUTEX_WAIT_PRIVATE"), 20u) << s.stats.dump(2);
}

TEST(Runner, BadAddressesGiveLinuxErrors) { expect_same_as_native({guest("bad_address")}); }

TEST(Runner, MixedWaitvWokenFromEitherSide) {
  const Served s = expect_same_as_native({guest("waitv_mixed")});
  EXPECT_GE(served(s, "futex_waitv"), 3u) << s.stats.dump(2);
  EXPECT_GE(s.stats["forwarded"].value("FUTEX_WAKE", 0), 1) << s.stats.dump(2);
}

// The registers are decoded as the kernel decodes them (syscalls/futex_call.h): a futex_waitv on
// a shared word with garbage above bit 31 of nr_futexes and flags is forwarded, so the host's
// FUTEX_WAKE ends it, as natively.
TEST(Runner, WaitvUpperBitsAreIgnoredAsLinuxIgnoresThem) {
  const Served s = expect_same_as_native({guest("waitv_upper_bits")}, /*min_served=*/0);
  EXPECT_EQ(s.run.exit_code(), 0) << s.run.describe();
  EXPECT_GE(s.stats["forwarded"].value("futex_waitv", 0), 1) << s.stats.dump(2);
}

// A guest does not outlive its supervisor unnoticed: killing futexbox with SIGKILL kills the
// guest's main process too (issue 13, item 11; it used to run on).
TEST(Runner, KillingFutexboxKillsTheGuest) {
  pid_t guest_pid = 0;
  RunSpec spec;
  spec.argv = {kFutexbox, "run", "sh", "-c", "echo $$; exec sleep 30"};
  spec.timeout = std::chrono::seconds(20);
  spec.on_output = [&](pid_t futexbox_pid, const std::string& out) {
    if (guest_pid != 0 || out.find('\n') == std::string::npos) return;
    guest_pid = static_cast<pid_t>(std::stol(out));
    kill(futexbox_pid, SIGKILL);
  };
  const Finished f = run_process(spec);
  EXPECT_EQ(f.signal(), SIGKILL) << f.describe();
  ASSERT_GT(guest_pid, 0) << f.describe();
  // Gone (or at least dead, a zombie until init reaps it) within a few seconds.
  bool gone = false;
  for (int i = 0; i < 300 && !gone; ++i) {
    std::ifstream stat("/proc/" + std::to_string(guest_pid) + "/stat");
    std::string line;
    gone = !std::getline(stat, line) || line.find(") Z") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone) << "guest " << guest_pid << " outlived futexbox";
  if (!gone) kill(guest_pid, SIGKILL);
}

// --- exit status and signals ---

TEST(Runner, ExitCodePropagated) {
  const Served s = run_served({guest("exit_status"), "exit", "3"});
  EXPECT_EQ(s.run.exit_code(), 3) << s.run.describe();
  EXPECT_EQ(s.stats["exit_status"], 3);
}

TEST(Runner, TerminatingSignalReRaised) {
  for (const auto& [args, sig] :
       std::vector<std::pair<std::vector<std::string>, int>>{{{"signal", "15"}, SIGTERM},
                                                             {{"abort"}, SIGABRT},
                                                             {{"segv"}, SIGSEGV},
                                                             // raised, not faulted (issue 13)
                                                             {{"signal", "11"}, SIGSEGV},
                                                             {{"signal", "7"}, SIGBUS}}) {
    std::vector<std::string> command{guest("exit_status")};
    command.insert(command.end(), args.begin(), args.end());
    const Finished native = run_native(command);
    const Served s = run_served(command);
    EXPECT_EQ(native.signal(), sig);
    EXPECT_EQ(s.run.signal(), sig) << s.run.describe();
    EXPECT_EQ(s.stats["exit_status"], 128 + sig);
    EXPECT_EQ(s.stats["signal"], std::string("SIG") + sigabbrev_np(sig));
  }
}

void send_when_ready(int sig) {
  RunSpec spec;
  bool sent = false;
  spec.on_output = [&](pid_t futexbox, const std::string& out) {
    if (!sent && out.find("ready\n") != std::string::npos) {
      usleep(100000);  // let the guest reach its wait
      kill(futexbox, sig);
      sent = true;
    }
  };
  spec.timeout = std::chrono::seconds(30);
  const Served s = run_served({guest("sigterm")}, spec);
  EXPECT_TRUE(sent);
  EXPECT_EQ(s.run.out, std::string("ready\ngot ") + sigabbrev_np(sig) + " 1 time\n")
      << s.run.describe();
  EXPECT_EQ(s.run.exit_code(), 0) << s.run.describe();
}

TEST(Runner, SigtermToFutexboxReachesTheGuest) { send_when_ready(SIGTERM); }

// Ctrl-C at a real terminal: the line discipline sends SIGINT to the whole foreground process
// group, futexbox and guest alike. The guest must get it exactly once (futexbox does not pass on
// a signal the terminal sent) and futexbox must not die of it: it exits with the guest's status.
TEST(Runner, CtrlCAtATerminalReachesTheGuestOnce) {
  int master = -1;
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(kFutexbox.c_str(), kFutexbox.c_str(), "run", guest("sigterm").c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  std::string out;
  bool sent = false;
  char buf[256];
  for (;;) {
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 20000) <= 0) break;
    const ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO once the terminal's last user is gone
    out.append(buf, static_cast<std::size_t>(n));
    if (!sent && out.find("ready") != std::string::npos) {
      usleep(100000);
      ASSERT_EQ(write(master, "\x03", 1), 1);  // ^C, the terminal's VINTR
      sent = true;
    }
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  close(master);
  EXPECT_TRUE(sent) << out;
  EXPECT_THAT(out, HasSubstr("got INT 1 time\r\n"));
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n" << out;
}
TEST(Runner, SigintToFutexboxReachesTheGuest) { send_when_ready(SIGINT); }

// --- refusals and usage ---

TEST(Runner, StaticProgramRefusedWithReason) {
  const Finished f = run_native({kFutexbox, "run", guest("static_hello")});
  EXPECT_EQ(f.exit_code(), 2);
  EXPECT_THAT(f.err, HasSubstr("statically linked"));
  EXPECT_EQ(f.out, "");
}

TEST(Runner, GuestExecOfStaticProgramFailsWithMessage) {
  const Served s =
      run_served({"/bin/sh", "-c", guest("static_hello") + "; echo exit=$?"});
  EXPECT_EQ(s.run.out, "exit=126\n") << s.run.describe();
  EXPECT_THAT(s.run.err, HasSubstr("futexbox: refusing to execute"));
  EXPECT_THAT(s.run.err, HasSubstr("statically linked"));
  EXPECT_EQ(s.stats["exec_refused"], 1);
}

// A set-user-ID program would run without its privileges under the filter (no_new_privs) and,
// started by futexbox directly, would ignore LD_PRELOAD: both refuse it with the reason.
TEST(Runner, SetuidProgramRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "making a set-user-ID file owned by another user needs root";
  const std::string copy = temp_path("setuid_echo");
  std::filesystem::copy_file("/bin/echo", copy, std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(chown(copy.c_str(), 65534, 65534), 0);
  ASSERT_EQ(chmod(copy.c_str(), 04755), 0);
  const Finished direct = run_native({kFutexbox, "run", copy, "hi"});
  EXPECT_EQ(direct.exit_code(), 2);
  EXPECT_THAT(direct.err, HasSubstr("set-user-ID"));
  const Served via_guest = run_served({"/bin/sh", "-c", copy + " hi; echo exit=$?"});
  EXPECT_EQ(via_guest.run.out, "exit=126\n") << via_guest.run.describe();
  EXPECT_THAT(via_guest.run.err, HasSubstr("set-user-ID"));
  std::filesystem::remove(copy);
}

// What execvp and a shell do with files that are not programs, futexbox run does too: a file
// without execute permission is refused (exit 2, not the 127 of a failed exec), and an executable
// text file without "#!" runs with /bin/sh, its arguments passed on.
TEST(Runner, NonExecutableFilesAndScriptsWithoutAShebang) {
  const std::string script = temp("noshebang");
  {
    std::ofstream out(script);
    out << "echo \"ran with $# arguments: $1\"\n";
  }
  std::filesystem::permissions(script, std::filesystem::perms::owner_read);
  const Finished refused = run_native({kFutexbox, "run", script});
  EXPECT_EQ(refused.exit_code(), 2) << refused.describe();
  EXPECT_THAT(refused.err, HasSubstr("Permission denied"));
  std::filesystem::permissions(script, std::filesystem::perms::owner_read |
                                           std::filesystem::perms::owner_exec);
  const Served s = run_served({script, "hello"});
  const Finished native = run_native({"sh", "-c", "exec \"$0\" hello", script});
  EXPECT_EQ(s.run.exit_code(), 0) << s.run.describe();
  EXPECT_EQ(s.run.out, "ran with 1 arguments: hello\n");
  EXPECT_EQ(s.run.out, native.out);
  std::filesystem::remove(script);
}

TEST(Runner, UsageErrorsExit2) {
  EXPECT_EQ(run_native({kFutexbox, "run"}).exit_code(), 2);
  EXPECT_EQ(run_native({kFutexbox, "run", "--no-such-option", "/bin/true"}).exit_code(), 2);
  const Finished missing = run_native({kFutexbox, "run", "no-such-program-xyz"});
  EXPECT_EQ(missing.exit_code(), 2);
  EXPECT_THAT(missing.err, HasSubstr("command not found"));
  EXPECT_EQ(run_native({kFutexbox, "run", "--agent", "/nonexistent.so", "/bin/true"}).exit_code(), 2);
  const Finished unwritable =
      run_native({kFutexbox, "run", "--stats-json", "/nonexistent/dir/x.json", "/bin/echo", "no"});
  EXPECT_EQ(unwritable.exit_code(), 2);
  EXPECT_EQ(unwritable.out, "");  // refused before the guest ran
  EXPECT_THAT(unwritable.err, HasSubstr("cannot write"));
  const Finished help = run_native({kFutexbox, "run", "--help"});
  EXPECT_EQ(help.exit_code(), 0);
  EXPECT_THAT(help.out, HasSubstr("--stats-json"));
  EXPECT_THAT(help.out, HasSubstr("PROGRAM"));
}

TEST(Runner, ProgramWithOrWithoutDoubleDashAndItsOwnOptions) {
  EXPECT_EQ(run_native({kFutexbox, "run", "/bin/echo", "--stats", "-x"}).out, "--stats -x\n");
  EXPECT_EQ(run_native({kFutexbox, "run", "--", "/bin/echo", "hi"}).out, "hi\n");
  const Finished with_stats = run_native({kFutexbox, "run", "--stats", guest("mutex")});
  EXPECT_EQ(with_stats.exit_code(), 0);
  EXPECT_THAT(with_stats.err, HasSubstr("FUTEX_WAKE_PRIVATE"));
  EXPECT_THAT(with_stats.err, HasSubstr("threads seen"));
}

}  // namespace
}  // namespace futexbox::testing
