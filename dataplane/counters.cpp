#include "counters.hpp"

namespace lb {
#define LB_NAME(name, desc) #name,
#define LB_DESC(name, desc) desc,
const char* const kDropNames[kDropCount] = {LB_DROP_REASONS(LB_NAME)};
const char* const kDropDescriptions[kDropCount] = {LB_DROP_REASONS(LB_DESC)};
const char* const kEventNames[kEventCount] = {LB_EVENT_COUNTERS(LB_NAME)};
const char* const kEventDescriptions[kEventCount] = {LB_EVENT_COUNTERS(LB_DESC)};
#undef LB_NAME
#undef LB_DESC
}  // namespace lb
