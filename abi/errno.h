// Errno: the Linux error numbers that cross the guest boundary, plus the kernel-internal restart
// codes (which never reach a guest as such: the syscall layer or the agent turns them into EINTR
// or a restart, see syscalls/restart.h). Values are Linux x86-64's, so `-static_cast<int>(e)` is
// the ABI return; `negated(e)` spells that.
#pragma once

#include <string_view>

namespace futexbox::abi {

enum class Errno : int {
  kEPERM = 1,
  kENOENT = 2,
  kESRCH = 3,
  kEINTR = 4,
  kE2BIG = 7,
  kEBADF = 9,
  kEAGAIN = 11,
  kENOMEM = 12,
  kEACCES = 13,
  kEFAULT = 14,
  kEBUSY = 16,
  kEINVAL = 22,
  kEMFILE = 24,
  kENOTTY = 25,
  kEPIPE = 32,
  kEDEADLK = 35,
  kENAMETOOLONG = 36,
  kENOSYS = 38,
  kENOBUFS = 105,
  kETIMEDOUT = 110,
  kEOWNERDEAD = 130,
  // Kernel-internal (include/linux/errno.h): never returned to a guest as such.
  kERESTARTSYS = 512,
  kERESTARTNOINTR = 513,
  kERESTARTNOHAND = 514,
  kERESTART_RESTARTBLOCK = 516,
};

// The raw syscall return for `e`: -errno.
constexpr long negated(Errno e) noexcept { return -static_cast<long>(e); }

// A kernel-internal restart code (ERESTARTSYS .. ERESTART_RESTARTBLOCK) as a raw return value.
constexpr bool is_restart_code(long r) noexcept {
  return r == negated(Errno::kERESTARTSYS) || r == negated(Errno::kERESTARTNOINTR) ||
         r == negated(Errno::kERESTARTNOHAND) || r == negated(Errno::kERESTART_RESTARTBLOCK);
}

// "EAGAIN", "ETIMEDOUT", ... (strace's spelling); "E<number>" for anything unnamed.
std::string_view errno_name(Errno e) noexcept;
// strerror's text in the C locale ("Resource temporarily unavailable"), as strace prints it.
std::string_view errno_description(Errno e) noexcept;

}  // namespace futexbox::abi
