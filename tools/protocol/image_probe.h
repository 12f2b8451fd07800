// ImageProbe: can a program image load the preloaded agent? Asked by `futexbox run` before it
// starts PROGRAM, and by the agent before it lets a guest execve(2) a new image (the seccomp filter
// survives exec, so an image without the agent would die of SIGSYS at its first futex call).
//
// An image loads the agent if it is a dynamically linked x86-64 ELF (it has a PT_INTERP, so ld.so
// runs and honours LD_PRELOAD) and exec does not switch to secure mode (no set-user/group-ID bit
// that changes the IDs, no file capabilities), because ld.so ignores LD_PRELOAD paths then. A
// `#!` script is judged by its interpreter, up to Linux's nesting limit.
//
// Everything here is async-signal-safe: raw syscalls into caller-provided buffers, no malloc, so
// the agent can call it from its SIGSYS handler.
#pragma once

#include <cstdint>

namespace futexbox::tools {

enum class ImageVerdict : std::uint8_t {
  kLoadsAgent,     // dynamic x86-64 ELF, not secure-exec
  kStatic,         // no PT_INTERP: statically linked (or static-pie)
  kSecureExec,     // setuid/setgid or file capabilities: ld.so would ignore LD_PRELOAD
  kForeign,        // an ELF for another machine or class
  kNotExecutable,  // not ELF and not a script: let the kernel give its own error
  kUnreadable,     // could not open or read it: let the kernel give its own error
};

struct ImageProbe {
  ImageVerdict verdict = ImageVerdict::kUnreadable;
  // The file the verdict is about (the interpreter, for a script), NUL-terminated, truncated.
  char subject[256] = {};
  // The image links ThreadSanitizer's runtime, whose initial-exec TLS (768 KiB) ld.so can only
  // place if it reserves static TLS for it: with an audit module loaded (the agent's is), ld.so
  // sizes static TLS before it loads the program's libraries, and libtsan would not start
  // ("cannot allocate memory in static TLS block"). Such an image gets kLargeStaticTlsTunable.
  bool needs_large_static_tls = false;
};

// The GLIBC_TUNABLES entry that reserves enough static TLS for libtsan (1 MiB; only in images
// that link it, since a thread's static TLS comes out of its stack).
inline constexpr char kLargeStaticTlsTunable[] = "glibc.rtld.optional_static_tls=1048576";

// Probes the file at `path` relative to `dirfd` (AT_FDCWD for the working directory); with
// `empty_path` (execveat's AT_EMPTY_PATH) the file is `dirfd` itself.
ImageProbe probe_image(int dirfd, const char* path, bool empty_path) noexcept;

// A sentence for the user about a verdict other than kLoadsAgent (static storage).
const char* image_verdict_reason(ImageVerdict verdict) noexcept;

}  // namespace futexbox::tools
