#include "tools/protocol/trace_file.h"

#include <cstring>
#include <new>
#include <utility>

namespace futexbox::tools {

namespace {
constexpr std::uint64_t kAlign = 64;
std::uint64_t round_up(std::uint64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
std::uint64_t slots_offset() { return round_up(sizeof(TraceFileHeader)); }
}  // namespace

std::uint64_t TraceFile::file_size(std::uint32_t slots, std::uint32_t capacity) noexcept {
  return slots_offset() + round_up(std::uint64_t{slots} * sizeof(TraceSlot)) +
         std::uint64_t{slots} * capacity * sizeof(TraceEvent);
}

TraceSlot& TraceFile::slot(std::uint32_t i) const noexcept {
  auto* base = reinterpret_cast<char*>(header_) + slots_offset();
  return reinterpret_cast<TraceSlot*>(base)[i];
}

sync::SpscRing<TraceEvent> TraceFile::ring(std::uint32_t i) const noexcept {
  auto* records = reinterpret_cast<TraceEvent*>(
      reinterpret_cast<char*>(header_) + slots_offset() +
      round_up(std::uint64_t{header_->slots} * sizeof(TraceSlot)));
  return sync::SpscRing<TraceEvent>(slot(i).ring, records + std::uint64_t{i} * header_->capacity,
                                    header_->capacity);
}

TraceFile TraceFile::create(std::uint32_t record, std::uint32_t slots, std::uint32_t capacity) {
  TraceFile f;
  f.file_ = SharedFile::create("trace", file_size(slots, capacity));
  f.header_ = new (f.file_.data()) TraceFileHeader();
  f.header_->size = f.file_.size();
  f.header_->slots = slots;
  f.header_->capacity = capacity;
  f.header_->record = record;
  for (std::uint32_t i = 0; i < slots; ++i) new (&f.slot(i)) TraceSlot();
  return f;
}

TraceFile TraceFile::attach(const char* path) noexcept {
  TraceFile f;
  SharedFile file = SharedFile::attach(path, sizeof(TraceFileHeader));
  if (!file.valid()) return f;
  auto* header = static_cast<TraceFileHeader*>(file.data());
  if (header->magic != TraceFileHeader::kMagic || header->size != file.size() ||
      header->size != file_size(header->slots, header->capacity)) {
    return f;
  }
  f.file_ = std::move(file);
  f.header_ = header;
  return f;
}

int TraceFile::claim(pid_t pid, pid_t tid,
                     sync::FunctionRef<bool(pid_t, pid_t)> alive) noexcept {
  const std::uint32_t n = header_->slots;
  // A free slot first; then one whose owner has gone and whose ring futexbox has drained.
  for (int pass = 0; pass < 2; ++pass) {
    for (std::uint32_t i = 0; i < n; ++i) {
      TraceSlot& s = slot(i);
      std::int32_t owner = s.tid.load(std::memory_order_acquire);
      if (pass == 0 && owner != 0) continue;
      if (pass == 1) {
        if (owner == 0 || ring(i).pending() != 0 ||
            alive(s.pid.load(std::memory_order_relaxed), owner)) {
          continue;
        }
      }
      if (s.tid.compare_exchange_strong(owner, tid, std::memory_order_acq_rel)) {
        s.pid.store(pid, std::memory_order_release);
        return static_cast<int>(i);
      }
    }
  }
  return -1;
}

bool TraceFile::push(int slot_index, const TraceEvent& event) noexcept {
  return ring(static_cast<std::uint32_t>(slot_index)).push(event);
}

void TraceFile::enter_call(int slot_index, const TraceEvent& entry) noexcept {
  CallState& c = slot(static_cast<std::uint32_t>(slot_index)).call;
  std::uint64_t words[CallState::kWords];
  std::memcpy(words, &entry, sizeof words);
  // seq is even here (the previous call's leave_call, or never entered): readers ignore the words.
  // Release stores, so that a reader whose acquire load sees one of them also sees that even seq
  // when it checks seq again (no fences: ThreadSanitizer does not model them; on x86 all of these
  // are plain moves anyway).
  for (std::size_t i = 0; i < CallState::kWords; ++i) c.entry[i].store(words[i], std::memory_order_release);
  c.seq.store(c.seq.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

void TraceFile::leave_call(int slot_index) noexcept {
  CallState& c = slot(static_cast<std::uint32_t>(slot_index)).call;
  // The seqlock writer's "begin": the next call's entry words are release stores, so they are
  // ordered after this one, and a reader that sees any of them sees this seq (or a later one).
  c.seq.store(c.seq.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void TraceFile::note_wake(int slot_index, std::uint64_t uaddr) noexcept {
  slot(static_cast<std::uint32_t>(slot_index)).call.last_wake.store(uaddr, std::memory_order_relaxed);
}

bool TraceFile::look(std::uint32_t i, CallLook& out) const noexcept {
  const TraceSlot& s = slot(i);
  out.tid = s.tid.load(std::memory_order_acquire);
  if (out.tid == 0) return false;
  out.pid = s.pid.load(std::memory_order_acquire);
  const CallState& c = s.call;
  out.seq = c.seq.load(std::memory_order_acquire);
  out.in_call = (out.seq & 1) != 0;
  out.last_wake = c.last_wake.load(std::memory_order_relaxed);
  if (!out.in_call) return true;
  std::uint64_t words[CallState::kWords];
  // Acquire loads: the recheck below cannot move above them, and one that saw a later call's word
  // makes the recheck see that call's seq.
  for (std::size_t w = 0; w < CallState::kWords; ++w) words[w] = c.entry[w].load(std::memory_order_acquire);
  if (c.seq.load(std::memory_order_relaxed) != out.seq) return false;
  std::memcpy(&out.entry, words, sizeof words);
  return true;
}

std::uint64_t TraceFile::drain(sync::FunctionRef<void(const TraceEvent&)> sink) noexcept {
  std::uint64_t n = 0;
  for (std::uint32_t i = 0; i < header_->slots; ++i) {
    if (slot(i).tid.load(std::memory_order_acquire) == 0) continue;
    n += ring(i).drain(sink);
  }
  return n;
}

std::uint64_t TraceFile::dropped() const noexcept {
  std::uint64_t n = header_->unslotted.load(std::memory_order_relaxed);
  for (std::uint32_t i = 0; i < header_->slots; ++i) n += ring(i).dropped();
  return n;
}

}  // namespace futexbox::tools
