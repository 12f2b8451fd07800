#include "tools/agent/task_pool.h"

#include <sys/mman.h>
#include <sys/syscall.h>

#include <cstddef>
#include <new>

#include "abi/syscall_numbers.h"
#include "sync/host_syscall.h"
#include "tools/agent/agent_stack.h"

namespace futexbox::tools::agent {

struct TaskPool::Slot {
  std::atomic<pid_t> owner{0};
  bool constructed = false;  // a task was built here (it is rebuilt per owner)
  bool waitv_ready = false;  // the futex_waitv storage was built (once, on first use)
  Chunk* chunk = nullptr;    // the chunk this slot is in (set when first claimed)
  // The slot's agent stack and futex_waitv storage (agent_stack.h), mapped by its first owner.
  char* stack_top = nullptr;
  alignas(kernel::Task) unsigned char task[sizeof(kernel::Task)];
};

struct TaskPool::Chunk {
  Slot slots[kChunkSlots];
  std::atomic<std::uint32_t> used{0};  // slots with an owner
  // Bit i: slot i has been claimed at least once (set by claim, cleared in a fork child).
  std::atomic<std::uint64_t> claimed[kChunkSlots / 64];
};

namespace {

void* map_chunk(std::size_t bytes) noexcept {
  const long r = sync::host_syscall(SYS_mmap, nullptr, bytes, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return r < 0 && r > -4096 ? nullptr : reinterpret_cast<void*>(r);
}

}  // namespace

bool TaskPool::init() noexcept { return chunk(0) != nullptr; }

TaskPool::Chunk* TaskPool::chunk(std::size_t index) noexcept {
  Chunk* c = chunks_[index].load(std::memory_order_acquire);
  if (c != nullptr) return c;
  void* memory = map_chunk(sizeof(Chunk));  // zero pages: owners 0, nothing constructed
  if (memory == nullptr) return nullptr;
  Chunk* fresh = static_cast<Chunk*>(memory);
  // Two threads may map a chunk at once; one publishes it, the other unmaps its copy.
  if (chunks_[index].compare_exchange_strong(c, fresh, std::memory_order_acq_rel)) return fresh;
  sync::host_syscall(SYS_munmap, memory, sizeof(Chunk));
  return c;
}

kernel::Task* TaskPool::take(Slot& slot, kernel::Process& process, pid_t tid) noexcept {
  if (slot.stack_top == nullptr) {
    slot.stack_top = map_agent_stack(sizeof(kernel::Task::WaitvStorage));
    if (slot.stack_top == nullptr) return nullptr;  // the claimer gives the slot back
  }
  if (slot.constructed) {
    std::launder(reinterpret_cast<kernel::Task*>(slot.task))->~Task();
  }
  slot.constructed = true;
  // The storage is only memory yet: the task keeps its address, and prepare_waitv builds it
  // before the first futex_waitv uses it, so threads that never call futex_waitv never touch it.
  auto* storage = reinterpret_cast<kernel::Task::WaitvStorage*>(slot.stack_top);
  return new (slot.task) kernel::Task(process, tid, *storage);
}

kernel::Task* TaskPool::claim(kernel::Process& process, pid_t tid) noexcept {
  for (std::size_t c = 0; c < kMaxChunks; ++c) {
    Chunk* ch = chunk(c);
    if (ch == nullptr) return nullptr;
    if (ch->used.load(std::memory_order_relaxed) >= kChunkSlots) continue;  // full: the next one
    const std::size_t start = static_cast<std::size_t>(tid) % kChunkSlots;
    for (std::size_t i = 0; i < kChunkSlots; ++i) {
      const std::size_t index = (start + i) % kChunkSlots;
      Slot& slot = ch->slots[index];
      pid_t owner = slot.owner.load(std::memory_order_acquire);
      // Our own TID on a slot: its thread died without its exit trapping (we are the live one),
      // and only we can claim it, since nobody else has this TID.
      if (owner == tid) return take(slot, process, tid);
      if (owner == 0 && slot.owner.compare_exchange_strong(owner, tid, std::memory_order_acq_rel)) {
        ch->used.fetch_add(1, std::memory_order_relaxed);
        ch->claimed[index / 64].fetch_or(std::uint64_t{1} << (index % 64),
                                         std::memory_order_relaxed);
        slot.chunk = ch;
        // A slot taken over (above) was claimed before, so its stack is mapped and take cannot
        // fail; a fresh one whose stack cannot be mapped is given back.
        kernel::Task* task = take(slot, process, tid);
        if (task == nullptr) release_slot(slot);
        return task;
      }
    }
  }
  return nullptr;
}

TaskPool::Slot& TaskPool::slot_of(kernel::Task& task) noexcept {
  // The task lives in its slot: step back to the slot's start.
  return *reinterpret_cast<Slot*>(reinterpret_cast<unsigned char*>(&task) - offsetof(Slot, task));
}

char* TaskPool::stack_top(kernel::Task& task) noexcept { return slot_of(task).stack_top; }

void TaskPool::prepare_waitv(kernel::Task& task) noexcept {
  Slot& slot = slot_of(task);
  if (slot.waitv_ready) return;
  new (slot.stack_top) kernel::Task::WaitvStorage();
  slot.waitv_ready = true;
}

void TaskPool::release(kernel::Task& task) noexcept { release_slot(slot_of(task)); }

void TaskPool::release_slot(Slot& s) noexcept {
  Slot* slot = &s;
  if (slot->owner.exchange(0, std::memory_order_acq_rel) != 0 && slot->chunk != nullptr) {
    slot->chunk->used.fetch_sub(1, std::memory_order_relaxed);
  }
}

void TaskPool::reset_after_fork() noexcept {
  // The child's only thread runs this (check_fork), so relaxed order is enough; a slot whose bit
  // is clear has never had an owner, and its page is left untouched.
  for (std::size_t c = 0; c < kMaxChunks; ++c) {
    Chunk* ch = chunks_[c].load(std::memory_order_relaxed);
    if (ch == nullptr) break;
    for (std::size_t word = 0; word < kChunkSlots / 64; ++word) {
      std::uint64_t bits = ch->claimed[word].exchange(0, std::memory_order_relaxed);
      for (; bits != 0; bits &= bits - 1) {
        const std::size_t i = word * 64 + static_cast<std::size_t>(__builtin_ctzll(bits));
        if (ch->slots[i].owner.load(std::memory_order_relaxed) != 0) {
          ch->slots[i].owner.store(0, std::memory_order_relaxed);
        }
      }
    }
    if (ch->used.load(std::memory_order_relaxed) != 0) ch->used.store(0, std::memory_order_relaxed);
  }
}

}  // namespace futexbox::tools::agent
