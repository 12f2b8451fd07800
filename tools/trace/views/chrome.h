// futexbox trace --format=chrome: the trace as Chrome Trace Event JSON, which ui.perfetto.dev and
// chrome://tracing open. One complete slice ("X") per call on its thread (a wait's slice is how
// long it slept), an instant ("i") per wake that woke someone, a flow arrow ("s" -> "f") from each
// served wake to each thread it woke (the kernel hands the woken waiter its waker's tid), a
// counter ("C") of the waiters on the hottest futex words, and process and thread names ("M").
// Always one complete JSON document: it is written after the guest has ended, however it ended.
#pragma once

#include <string>
#include <vector>

#include "tools/trace/address_names.h"
#include "tools/protocol/trace_file.h"

namespace futexbox::tools {

std::string format_chrome(std::vector<TraceEvent> events, const AddressNamer& names);

}  // namespace futexbox::tools
