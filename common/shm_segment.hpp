// Creating and attaching the shared-memory segment of shm_layout.hpp (POSIX shm_open +
// mmap). Thread-safety: an object is used by one thread.
#pragma once

#include <cstdint>
#include <string>

#include "shm_layout.hpp"

namespace lb::shm {

uint64_t monotonic_ms();

// lbdp's side. create() replaces any segment of that name with a fresh one (new
// generation, empty rings) and marks it ready, unless a running lbdp serves that name
// (refused). The owner holds a lock on the segment for its lifetime, which the kernel
// releases however the process ends; that is how lbcp and a later lbdp know it is
// alive. The destructor marks it closed and unlinks the name (only if the name still
// refers to this segment).
class SegmentOwner {
 public:
  SegmentOwner() = default;
  ~SegmentOwner();
  SegmentOwner(const SegmentOwner&) = delete;
  SegmentOwner& operator=(const SegmentOwner&) = delete;

  bool create(const std::string& name, std::string* error);
  void close();
  Segment* get() const { return segment_; }
  explicit operator bool() const { return segment_ != nullptr; }

 private:
  std::string name_;
  int fd_ = -1;
  Segment* segment_ = nullptr;
};

// lbcp's side. attach() maps an existing segment whose lbdp is alive, checks magic,
// layout version and the layout, and takes an exclusive lock (a second lbcp is
// refused). superseded() tells when lbdp has stopped, died (its lock is gone) or been
// restarted (the name now refers to another segment).
class SegmentClient {
 public:
  SegmentClient() = default;
  ~SegmentClient();
  SegmentClient(const SegmentClient&) = delete;
  SegmentClient& operator=(const SegmentClient&) = delete;

  enum class Attach { ok, absent, not_ready, mismatch, locked, error };
  Attach attach(const std::string& name, std::string* error);
  void detach();
  // True when the segment is closed, or the name refers to a different (newer) segment.
  bool superseded() const;
  Segment* get() const { return segment_; }
  uint64_t generation() const { return segment_ ? segment_->header.generation : 0; }

 private:
  std::string name_;
  int fd_ = -1;
  uint64_t inode_ = 0;
  Segment* segment_ = nullptr;
};

}  // namespace lb::shm
