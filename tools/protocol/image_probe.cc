#include "tools/protocol/image_probe.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "sync/host_syscall.h"

namespace futexbox::tools {
namespace {

using sync::host_syscall;

void set_subject(ImageProbe& probe, const char* path) noexcept {
  std::size_t n = std::strlen(path);
  if (n >= sizeof probe.subject) n = sizeof probe.subject - 1;
  std::memcpy(probe.subject, path, n);
  probe.subject[n] = '\0';
}

bool read_exact(int fd, void* buf, std::size_t size, std::uint64_t offset) noexcept {
  return host_syscall(SYS_pread64, fd, buf, size, offset) ==
         static_cast<long>(size);
}

bool secure_exec(int fd, const struct stat& st) noexcept {
  const auto euid = static_cast<uid_t>(host_syscall(SYS_geteuid));
  const auto egid = static_cast<gid_t>(host_syscall(SYS_getegid));
  if ((st.st_mode & S_ISUID) != 0 && st.st_uid != euid) return true;
  if ((st.st_mode & S_ISGID) != 0 && st.st_gid != egid) return true;
  char cap[32];
  return host_syscall(SYS_fgetxattr, fd, "security.capability", cap,
             static_cast<long>(sizeof cap)) > 0;
}

// Whether one of the image's DT_NEEDED libraries is ThreadSanitizer's runtime (libtsan.so.N).
bool links_tsan(int fd, const Elf64_Ehdr& eh) noexcept {
  constexpr unsigned kMaxSegments = 64;
  Elf64_Phdr loads[kMaxSegments];
  unsigned load_count = 0;
  Elf64_Phdr dynamic{};
  bool has_dynamic = false;
  for (unsigned i = 0; i < eh.e_phnum && i < kMaxSegments; ++i) {
    Elf64_Phdr ph;
    if (!read_exact(fd, &ph, sizeof ph, eh.e_phoff + std::uint64_t{i} * sizeof ph)) return false;
    if (ph.p_type == PT_LOAD) loads[load_count++] = ph;
    if (ph.p_type == PT_DYNAMIC) {
      dynamic = ph;
      has_dynamic = true;
    }
  }
  if (!has_dynamic) return false;
  // DT_STRTAB is an address: find the file offset of the segment that holds it.
  std::uint64_t strtab = 0;
  bool has_strtab = false;
  const std::uint64_t entries = dynamic.p_filesz / sizeof(Elf64_Dyn);
  for (std::uint64_t i = 0; i < entries && i < 4096 && !has_strtab; ++i) {
    Elf64_Dyn d;
    if (!read_exact(fd, &d, sizeof d, dynamic.p_offset + i * sizeof d)) return false;
    if (d.d_tag == DT_NULL) break;
    if (d.d_tag == DT_STRTAB) {
      for (unsigned k = 0; k < load_count; ++k) {
        if (d.d_un.d_ptr >= loads[k].p_vaddr && d.d_un.d_ptr < loads[k].p_vaddr + loads[k].p_filesz) {
          strtab = d.d_un.d_ptr - loads[k].p_vaddr + loads[k].p_offset;
          has_strtab = true;
        }
      }
    }
  }
  if (!has_strtab) return false;
  for (std::uint64_t i = 0; i < entries && i < 4096; ++i) {
    Elf64_Dyn d;
    if (!read_exact(fd, &d, sizeof d, dynamic.p_offset + i * sizeof d)) return false;
    if (d.d_tag == DT_NULL) break;
    if (d.d_tag != DT_NEEDED) continue;
    char name[32] = {};
    const long got = host_syscall(SYS_pread64, fd, name, sizeof name - 1, strtab + d.d_un.d_val);
    if (got > 0 && std::strncmp(name, "libtsan.so", 10) == 0) return true;
  }
  return false;
}

ImageVerdict classify_elf(int fd, const Elf64_Ehdr& eh, bool* large_static_tls) noexcept {
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
    return ImageVerdict::kForeign;
  }
  if (eh.e_phentsize != sizeof(Elf64_Phdr)) return ImageVerdict::kNotExecutable;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (!read_exact(fd, &ph, sizeof ph, eh.e_phoff + std::uint64_t{i} * sizeof ph)) {
      return ImageVerdict::kNotExecutable;
    }
    if (ph.p_type == PT_INTERP) {
      *large_static_tls = links_tsan(fd, eh);
      return ImageVerdict::kLoadsAgent;
    }
  }
  return ImageVerdict::kStatic;
}

// The interpreter of a `#!` line, copied into `out`; false if the line is not one.
bool script_interpreter(const char* head, std::size_t len, char* out, std::size_t out_size) noexcept {
  if (len < 3 || head[0] != '#' || head[1] != '!') return false;
  std::size_t i = 2;
  while (i < len && (head[i] == ' ' || head[i] == '\t')) ++i;
  std::size_t n = 0;
  while (i < len && head[i] != ' ' && head[i] != '\t' && head[i] != '\n' && n + 1 < out_size) {
    out[n++] = head[i++];
  }
  out[n] = '\0';
  return n > 0;
}

}  // namespace

ImageProbe probe_image(int dirfd, const char* path, bool empty_path) noexcept {
  ImageProbe probe;
  set_subject(probe, path);
  char interp[256];
  // Linux follows at most 4 levels of interpreters (binfmt_script's recursion limit).
  for (int depth = 0; depth < 5; ++depth) {
    int fd;
    bool owned = true;
    if (depth == 0 && empty_path) {
      fd = dirfd;
      owned = false;
    } else {
      fd = static_cast<int>(host_syscall(SYS_openat, depth == 0 ? dirfd : AT_FDCWD, path,
                                O_RDONLY | O_CLOEXEC));
      if (fd < 0) {
        probe.verdict = ImageVerdict::kUnreadable;
        return probe;
      }
    }
    struct stat st {};
    union {
      Elf64_Ehdr eh;
      char bytes[256];
    } head{};
    const long got = host_syscall(SYS_pread64, fd, head.bytes, sizeof head.bytes, 0);
    const bool stat_ok = host_syscall(SYS_fstat, fd, &st) == 0;
    ImageVerdict verdict;
    bool is_script = false;
    if (got < 0 || !stat_ok) {
      verdict = ImageVerdict::kUnreadable;
    } else if (secure_exec(fd, st)) {
      verdict = ImageVerdict::kSecureExec;
    } else if (got >= static_cast<long>(sizeof(Elf64_Ehdr)) &&
               std::memcmp(head.eh.e_ident, ELFMAG, SELFMAG) == 0) {
      verdict = classify_elf(fd, head.eh, &probe.needs_large_static_tls);
    } else if (script_interpreter(head.bytes, static_cast<std::size_t>(got), interp,
                                  sizeof interp)) {
      is_script = true;
      verdict = ImageVerdict::kNotExecutable;
    } else {
      verdict = ImageVerdict::kNotExecutable;
    }
    if (owned) host_syscall(SYS_close, fd);
    if (!is_script) {
      probe.verdict = verdict;
      return probe;
    }
    path = interp;
    set_subject(probe, interp);
  }
  probe.verdict = ImageVerdict::kNotExecutable;  // too many levels: the kernel says ELOOP
  return probe;
}

const char* image_verdict_reason(ImageVerdict verdict) noexcept {
  switch (verdict) {
    case ImageVerdict::kLoadsAgent: return "loads the agent";
    case ImageVerdict::kStatic:
      return "is statically linked: futexbox run serves futex calls through an agent preloaded "
             "by the dynamic loader, which a static program never runs (static programs need "
             "an out-of-process platform futexbox does not have yet)";
    case ImageVerdict::kSecureExec:
      return "is set-user-ID, set-group-ID or has file capabilities: started directly the dynamic "
             "loader would ignore LD_PRELOAD for it, and under the agent's seccomp filter "
             "(no_new_privs) it would run without its privileges";
    case ImageVerdict::kForeign: return "is not an x86-64 ELF program";
    case ImageVerdict::kNotExecutable: return "is not an executable program";
    case ImageVerdict::kUnreadable: return "cannot be opened";
  }
  return "?";
}

}  // namespace futexbox::tools
