// The contract between futexbox and the agent it preloads into every guest process, across the
// process boundary. Everything the two share is named here or in the files it lists:
// - the environment: LD_PRELOAD names the agent, LD_AUDIT its audit module; FUTEXBOX_AGENT_STATS the run-stats page
//   (run_stats.h), which every `futexbox run` and `trace` creates; FUTEXBOX_AGENT_TRACE the trace
//   file (trace_file.h), which `trace` creates for events and `run` for its deadlock watch. An
//   exec'd image finds them again because the agent's exec guard carries them into any new
//   environment (tools/agent/exec_guard.h), an empty one included;
// - the files: both are SharedFiles (shared_file.h) that futexbox creates and removes and each
//   agent maps by path;
// - image_probe.h: which images can load the agent, judged the same way by futexbox before it
//   starts PROGRAM and by the agent before a guest's exec.
// Everything under tools/protocol/ is async-signal-safe on the agent's side (no malloc, no locks,
// raw syscalls), since the agent uses it from its SIGSYS handler; no fmt or json here.
#pragma once

namespace futexbox::tools::agent_env {

inline constexpr char kPreload[] = "LD_PRELOAD";
// ld.so's audit modules: futexbox's (libfutexbox-audit.so, beside the agent) comes first.
inline constexpr char kAudit[] = "LD_AUDIT";
inline constexpr char kAuditLibraryName[] = "libfutexbox-audit.so";
// glibc's tunables: images that link ThreadSanitizer get more static TLS (image_probe.h).
inline constexpr char kTunables[] = "GLIBC_TUNABLES";
inline constexpr char kStats[] = "FUTEXBOX_AGENT_STATS";
inline constexpr char kTrace[] = "FUTEXBOX_AGENT_TRACE";
// futexbox's own: where the agent library is when --agent does not say (launch/launcher.h).
inline constexpr char kAgentLibrary[] = "FUTEXBOX_AGENT";

// The agent's variables an exec must carry into the new image, besides LD_PRELOAD.
inline constexpr const char* kCarried[] = {kStats, kTrace};
inline constexpr int kCarriedCount = sizeof kCarried / sizeof kCarried[0];

}  // namespace futexbox::tools::agent_env
