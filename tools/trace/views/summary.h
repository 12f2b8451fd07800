// futexbox trace -c: what strace -c prints, per futex op instead of per syscall (calls, errors,
// total and average time), followed by the contention profile (tools/trace_profile.h): the futex
// addresses with the most total wait time, each with its waits, waiting and waking threads,
// wait-time percentiles (p50, p99, max) and a name (tools/address_names.h).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "tools/trace/address_names.h"
#include "tools/protocol/trace_file.h"

namespace futexbox::tools {

// `top`: how many addresses the contention profile lists.
std::string format_summary(std::vector<TraceEvent> events, const AddressNamer& names,
                           std::size_t top = 10);

}  // namespace futexbox::tools
