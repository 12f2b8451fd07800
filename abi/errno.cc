#include "abi/errno.h"

namespace futexbox::abi {
namespace {

struct ErrnoInfo {
  Errno value;
  std::string_view name;
  std::string_view description;
};

constexpr ErrnoInfo kErrnos[] = {
    {Errno::kEPERM, "EPERM", "Operation not permitted"},
    {Errno::kENOENT, "ENOENT", "No such file or directory"},
    {Errno::kESRCH, "ESRCH", "No such process"},
    {Errno::kEINTR, "EINTR", "Interrupted system call"},
    {Errno::kE2BIG, "E2BIG", "Argument list too long"},
    {Errno::kEBADF, "EBADF", "Bad file descriptor"},
    {Errno::kEAGAIN, "EAGAIN", "Resource temporarily unavailable"},
    {Errno::kENOMEM, "ENOMEM", "Cannot allocate memory"},
    {Errno::kEACCES, "EACCES", "Permission denied"},
    {Errno::kEFAULT, "EFAULT", "Bad address"},
    {Errno::kEBUSY, "EBUSY", "Device or resource busy"},
    {Errno::kEINVAL, "EINVAL", "Invalid argument"},
    {Errno::kEMFILE, "EMFILE", "Too many open files"},
    {Errno::kENOTTY, "ENOTTY", "Inappropriate ioctl for device"},
    {Errno::kEPIPE, "EPIPE", "Broken pipe"},
    {Errno::kEDEADLK, "EDEADLK", "Resource deadlock avoided"},
    {Errno::kENAMETOOLONG, "ENAMETOOLONG", "File name too long"},
    {Errno::kENOSYS, "ENOSYS", "Function not implemented"},
    {Errno::kENOBUFS, "ENOBUFS", "No buffer space available"},
    {Errno::kETIMEDOUT, "ETIMEDOUT", "Connection timed out"},
    {Errno::kEOWNERDEAD, "EOWNERDEAD", "Owner died"},
    {Errno::kERESTARTSYS, "ERESTARTSYS", "To be restarted if SA_RESTART is set"},
    {Errno::kERESTARTNOINTR, "ERESTARTNOINTR", "To be restarted"},
    {Errno::kERESTARTNOHAND, "ERESTARTNOHAND", "To be restarted if no handler"},
    {Errno::kERESTART_RESTARTBLOCK, "ERESTART_RESTARTBLOCK",
     "Interrupted by signal"},
};

const ErrnoInfo* find(Errno e) noexcept {
  for (const ErrnoInfo& info : kErrnos) {
    if (info.value == e) return &info;
  }
  return nullptr;
}

}  // namespace

std::string_view errno_name(Errno e) noexcept {
  const ErrnoInfo* info = find(e);
  return info != nullptr ? info->name : std::string_view("E?");
}

std::string_view errno_description(Errno e) noexcept {
  const ErrnoInfo* info = find(e);
  return info != nullptr ? info->description : std::string_view("Unknown error");
}

}  // namespace futexbox::abi
