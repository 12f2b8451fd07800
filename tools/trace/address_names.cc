#include "tools/trace/address_names.h"

#include <elf.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tools/trace/proc_threads.h"

namespace futexbox::tools {

// The data and function symbols of one ELF file (.symtab, else .dynsym), by virtual address, and
// the address its first PT_LOAD segment wants (to turn a mapping's start into a load bias).
class ElfSymbols {
 public:
  explicit ElfSymbols(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return;
    const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (data.size() < sizeof(Elf64_Ehdr) || std::memcmp(data.data(), ELFMAG, SELFMAG) != 0 ||
        data[EI_CLASS] != ELFCLASS64) {
      return;
    }
    Elf64_Ehdr eh;
    std::memcpy(&eh, data.data(), sizeof eh);
    auto read = [&](std::uint64_t off, void* out, std::size_t n) {
      if (off > data.size() || data.size() - off < n) return false;
      std::memcpy(out, data.data() + off, n);
      return true;
    };
    for (unsigned i = 0; i < eh.e_phnum; ++i) {
      Elf64_Phdr ph;
      if (!read(eh.e_phoff + std::uint64_t{i} * sizeof ph, &ph, sizeof ph)) return;
      if (ph.p_type == PT_LOAD) {
        first_load_ = ph.p_vaddr & ~std::uint64_t{0xfff};
        valid_ = true;
        break;
      }
    }
    std::vector<Elf64_Shdr> sections(eh.e_shnum);
    for (unsigned i = 0; i < eh.e_shnum; ++i) {
      if (!read(eh.e_shoff + std::uint64_t{i} * sizeof(Elf64_Shdr), &sections[i], sizeof(Elf64_Shdr))) return;
    }
    for (const std::uint32_t type : {SHT_SYMTAB, SHT_DYNSYM}) {
      for (const Elf64_Shdr& sh : sections) {
        if (sh.sh_type != type || sh.sh_link >= sections.size() || sh.sh_entsize != sizeof(Elf64_Sym)) {
          continue;
        }
        const Elf64_Shdr& strtab = sections[sh.sh_link];
        for (std::uint64_t off = 0; off + sizeof(Elf64_Sym) <= sh.sh_size; off += sizeof(Elf64_Sym)) {
          Elf64_Sym sym;
          if (!read(sh.sh_offset + off, &sym, sizeof sym)) break;
          const unsigned kind = ELF64_ST_TYPE(sym.st_info);
          if (sym.st_value == 0 || sym.st_size == 0 || (kind != STT_OBJECT && kind != STT_FUNC)) continue;
          if (sym.st_name >= strtab.sh_size) continue;
          const char* name = data.data() + strtab.sh_offset + sym.st_name;
          symbols_.push_back({sym.st_value, sym.st_size, name});
        }
      }
      if (!symbols_.empty()) break;
    }
    std::sort(symbols_.begin(), symbols_.end(),
              [](const Symbol& a, const Symbol& b) { return a.value < b.value; });
  }

  [[nodiscard]] bool valid() const { return valid_; }
  [[nodiscard]] std::uint64_t first_load() const { return first_load_; }

  // "name" or "name+0x10" for a virtual address inside a symbol, else empty.
  [[nodiscard]] std::string at(std::uint64_t vaddr) const {
    auto it = std::upper_bound(symbols_.begin(), symbols_.end(), vaddr,
                               [](std::uint64_t v, const Symbol& s) { return v < s.value; });
    if (it == symbols_.begin()) return "";
    --it;
    if (vaddr >= it->value + it->size) return "";
    if (vaddr == it->value) return it->name;
    char off[32];
    std::snprintf(off, sizeof off, "+%#" PRIx64, vaddr - it->value);
    return it->name + off;
  }

 private:
  struct Symbol {
    std::uint64_t value;
    std::uint64_t size;
    std::string name;
  };
  bool valid_ = false;
  std::uint64_t first_load_ = 0;
  std::vector<Symbol> symbols_;
};

AddressNamer::AddressNamer() = default;
AddressNamer::~AddressNamer() = default;

bool AddressNamer::snapshot(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().empty()) return false;
  set_maps(pid, text.str());
  sample_stacks(pid);
  return true;
}

void AddressNamer::set_maps(pid_t pid, const std::string& maps_text) {
  std::vector<Mapping> maps;
  std::istringstream in(maps_text);
  for (std::string line; std::getline(in, line);) {
    Mapping m;
    char perms[8] = {};
    unsigned long long start = 0, end = 0, offset = 0, inode = 0;
    unsigned dev_major = 0, dev_minor = 0;
    int consumed = 0;
    if (std::sscanf(line.c_str(), "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &offset,
                    &dev_major, &dev_minor, &inode, &consumed) < 7) {
      continue;
    }
    m.start = start;
    m.end = end;
    m.offset = offset;
    if (consumed > 0 && static_cast<std::size_t>(consumed) < line.size()) m.path = line.substr(static_cast<std::size_t>(consumed));
    maps.push_back(std::move(m));
  }
  maps_[pid] = std::move(maps);
}

void AddressNamer::sample_stacks(pid_t pid) {
  const auto& known = stack_pointers_[pid];
  for (const pid_t tid : threads_of(pid)) {
    if (known.count(tid) != 0) continue;
    if (const std::optional<std::uint64_t> sp = thread_stack_pointer(pid, tid)) set_thread_stack(pid, tid, *sp);
  }
}

void AddressNamer::set_thread_stack(pid_t pid, pid_t tid, std::uint64_t sp) {
  stack_pointers_[pid][tid] = {sp, ++samples_};
}

void AddressNamer::add_stack_hint(pid_t pid, pid_t tid, std::uint64_t addr) {
  stack_hints_[pid][tid] = {addr, ++samples_};
}

const ElfSymbols* AddressNamer::symbols(const std::string& path) const {
  auto it = elf_.find(path);
  if (it == elf_.end()) it = elf_.emplace(path, std::make_unique<ElfSymbols>(path)).first;
  return it->second->valid() ? it->second.get() : nullptr;
}

std::string AddressNamer::executable(pid_t pid) const {
  auto found = maps_.find(pid);
  if (found == maps_.end() || found->second.empty()) return "";
  const std::string& path = found->second.front().path;
  return !path.empty() && path[0] == '/' ? path : "";
}

bool AddressNamer::anonymous(pid_t pid, std::uint64_t addr) const {
  auto found = maps_.find(pid);
  if (found == maps_.end()) return false;
  for (const Mapping& m : found->second) {
    if (addr >= m.start && addr < m.end) return m.path.empty();
  }
  return false;
}

std::string AddressNamer::name(pid_t pid, std::uint64_t addr) const {
  char hex[32];
  std::snprintf(hex, sizeof hex, "%#" PRIx64, addr);
  auto found = maps_.find(pid);
  if (found == maps_.end()) return hex;
  const std::vector<Mapping>& maps = found->second;
  auto it = std::find_if(maps.begin(), maps.end(),
                         [&](const Mapping& m) { return addr >= m.start && addr < m.end; });
  if (it == maps.end()) return hex;
  if (it->path.empty()) {
    // The thread seen in this mapping last: by its stack pointer, else by a join's word.
    for (const auto* seen : {&stack_pointers_, &stack_hints_}) {
      auto of_pid = seen->find(pid);
      if (of_pid == seen->end()) continue;
      pid_t owner = 0;
      std::uint64_t latest = 0;
      for (const auto& [tid, sample] : of_pid->second) {
        if (sample.first >= it->start && sample.first < it->end && sample.second > latest) {
          owner = tid;
          latest = sample.second;
        }
      }
      if (owner != 0) return "[stack:" + std::to_string(owner) + "]";
    }
  }
  // Anonymous memory right after a file's last mapping is that image's .bss.
  std::string image = it->path;
  if (image.empty() && it != maps.begin() && std::prev(it)->end == it->start &&
      !std::prev(it)->path.empty() && std::prev(it)->path[0] == '/') {
    image = std::prev(it)->path;
  }
  if (image.empty() || image[0] != '/') {
    if (image == "[stack]") return "[stack:" + std::to_string(pid) + "]";
    return image.empty() ? "[anon]" : image;
  }
  // The image's load bias: where its offset-0 mapping starts, less its first segment's address.
  std::uint64_t base = 0;
  bool have_base = false;
  for (const Mapping& m : maps) {
    if (m.path == image && m.offset == 0) {
      base = m.start;
      have_base = true;
      break;
    }
  }
  const ElfSymbols* elf = symbols(image);
  if (elf != nullptr && have_base) {
    const std::uint64_t vaddr = addr - base + elf->first_load();
    const std::string symbol = elf->at(vaddr);
    if (!symbol.empty()) return symbol + " in " + image;
    std::snprintf(hex, sizeof hex, "+%#" PRIx64, vaddr);
    return image + hex;
  }
  return image;
}

}  // namespace futexbox::tools
