// ExecGuard: what the agent does with a guest's execve(2) / execveat(2).
//
// The seccomp filter survives exec and cannot be removed, so the new image must load the agent
// again or die of SIGSYS at its first futex call. The guard therefore
// - refuses images that cannot load it (static, set-ID or with file capabilities; see
//   tools/image_probe.h), with a message on the guest's stderr that names the reason and EPERM
//   from execve, instead of a process killed by SIGSYS later;
// - makes sure the environment the new image gets still preloads the agent, still names the audit
//   module in LD_AUDIT (audit/audit_module.cc: it serves the image's calls until the agent's
//   constructor has run), and still carries
//   every variable of the agent protocol this process was given (tools/protocol/agent_env.h: the
//   stats page, the trace file): a program may exec with a fresh environment (env -i, execle). The
//   rebuilt envp lives in a private anonymous mapping (no malloc in a signal handler), unmapped
//   again once the exec has failed.
// Other images (scripts are judged by their interpreter; non-x86-64 ELF files run natively, their
// syscalls being another architecture's, which the filter lets through) are exec'd as they are.
#pragma once

#include <cstdint>

#include "kernel/guest_memory.h"
#include "tools/protocol/agent_env.h"

namespace futexbox::tools::agent {

struct ExecGuardConfig {
  const char* agent_path = "";  // absolute path of this library
  const char* audit_path = "";  // absolute path of the audit module beside it, "" if none
  // The value this process was given for each of agent_env::kCarried, or "" if none.
  const char* carried[agent_env::kCarriedCount] = {};
};

// Serves a trapped execve (dirfd = AT_FDCWD, flags = 0) or execveat. Returns only on failure,
// with the negative errno the guest gets. `issue` performs the real call.
long guarded_exec(const ExecGuardConfig& config, kernel::GuestMemory& memory, long nr, int dirfd,
                  kernel::GuestAddr path, kernel::GuestAddr argv, kernel::GuestAddr envp,
                  int flags, long (*issue)(long nr, const long (&args)[6]), bool* refused) noexcept;

}  // namespace futexbox::tools::agent
