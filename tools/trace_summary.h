// futexbox trace -c: what strace -c prints, per futex op instead of per syscall (calls, errors,
// total and average time), followed by the contention profile: the futex addresses with the most
// total wait time, each with its waits, waiting and waking threads, wait-time percentiles
// (p50, p99, max) and a name (tools/address_names.h).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tools/address_names.h"
#include "tools/trace_file.h"

namespace futexbox::tools {

// A call's name as the views show it: the futex op in strace's spelling (FUTEX_WAIT_PRIVATE, ...)
// or the futex2 syscall's name.
std::string call_name(const TraceEvent& entry);
// Calls that may sleep on the word in v[0], and calls that wake waiters of it.
bool waits_on_word(const TraceEvent& entry);
bool wakes_word(const TraceEvent& entry);
// Whether a syscall result is an error (-4095..-1; restart codes are not).
inline bool is_error_result(std::int64_t result) { return result < 0 && result > -4096; }

// `top`: how many addresses the contention profile lists.
std::string format_summary(std::vector<TraceEvent> events, const AddressNamer& names,
                           std::size_t top = 10);

}  // namespace futexbox::tools
