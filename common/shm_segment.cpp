// POSIX shared memory for the lbdp <-> lbcp segment. See shm_segment.hpp.
#include "shm_segment.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <new>

namespace lb::shm {

uint64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

// Segment holds atomics and Boost rings, so it is not standard-layout and offsetof is
// "conditionally supported"; GCC and Clang support it for types without virtual bases,
// which is all this needs.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
LayoutInfo this_layout() {
  return LayoutInfo{sizeof(Segment),
                    offsetof(Segment, heartbeats), sizeof(HeartbeatRing),
                    offsetof(Segment, events), sizeof(EventRing),
                    offsetof(Segment, commands), sizeof(CommandRing),
                    offsetof(Segment, transmit), sizeof(TxRing),
                    offsetof(Segment, stats), sizeof(Seqlocked<DataplaneStats>),
                    offsetof(Segment, health), sizeof(Seqlocked<HealthReport>)};
}
#pragma GCC diagnostic pop

namespace {

std::string errno_text(const char* what, const std::string& name) {
  return std::string(what) + " " + name + ": " + std::strerror(errno);
}

// Liveness through the kernel instead of pids: lbdp holds an open-file-description
// write lock on byte 0 of its segment for as long as it runs, the attached lbcp one on
// byte 1. The kernel drops them when the process dies, however it dies.
constexpr off_t kDataplaneLockByte = 0;
constexpr off_t kControlPlaneLockByte = 1;

struct flock write_lock_of(off_t byte) {
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = byte;
  fl.l_len = 1;
  return fl;
}

bool lock_byte(int fd, off_t byte) {
  struct flock fl = write_lock_of(byte);
  return fcntl(fd, F_OFD_SETLK, &fl) == 0;
}

bool byte_locked_by_other(int fd, off_t byte) {
  struct flock fl = write_lock_of(byte);
  return fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
}

uint64_t inode_of_name(const std::string& name) {
  struct stat st;
  if (stat(("/dev/shm" + name).c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_ino);
}

}  // namespace

// --- SegmentOwner

SegmentOwner::~SegmentOwner() { close(); }

bool SegmentOwner::create(const std::string& name, std::string* error) {
  close();
  if (name.size() < 2 || name[0] != '/' || name.find('/', 1) != std::string::npos) {
    *error = "shared-memory name '" + name + "' must be '/' followed by a name without '/'";
    return false;
  }
  // A live lbdp serving this name keeps it.
  if (int old = shm_open(name.c_str(), O_RDWR, 0); old >= 0) {
    bool live = byte_locked_by_other(old, kDataplaneLockByte);
    ::close(old);
    if (live) {
      *error = "shared-memory segment " + name + " belongs to a running lbdp; give this one another name";
      return false;
    }
  }
  // A fresh object: an lbcp still mapping the old one sees it closed (or its lbdp gone)
  // and the name refer to another inode, and re-attaches.
  shm_unlink(name.c_str());
  int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
  if (fd < 0) return *error = errno_text("shm_open", name), false;
  if (!lock_byte(fd, kDataplaneLockByte) || ftruncate(fd, sizeof(Segment)) != 0) {
    *error = errno_text("lock or size", name);
    ::close(fd);
    shm_unlink(name.c_str());
    return false;
  }
  void* mem = mmap(nullptr, sizeof(Segment), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED) {
    *error = errno_text("mmap", name);
    ::close(fd);
    shm_unlink(name.c_str());
    return false;
  }
  // Two lbdps starting at once: the other may have unlinked our name between our
  // shm_open and our lock. Whoever no longer owns the name gives up.
  {
    struct stat mine;
    if (fstat(fd, &mine) != 0 || inode_of_name(name) != static_cast<uint64_t>(mine.st_ino)) {
      *error = "shared-memory segment " + name + " was taken by another lbdp starting at the same time";
      munmap(mem, sizeof(Segment));
      ::close(fd);
      return false;
    }
  }
  // ftruncate gave zeroed memory; construct every part in place.
  auto* seg = static_cast<Segment*>(mem);
  new (&seg->heartbeats) HeartbeatRing();
  new (&seg->events) EventRing();
  new (&seg->commands) CommandRing();
  new (&seg->transmit) TxRing();
  new (&seg->stats) Seqlocked<DataplaneStats>();
  new (&seg->health) Seqlocked<HealthReport>();
  Header& h = seg->header;
  h.magic = kMagic;
  h.layout_version = kLayoutVersion;
  h.header_size = sizeof(Header);
  h.layout = this_layout();
  h.generation = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  h.dataplane_pid = getpid();
  h.dataplane_alive_ms.store(monotonic_ms());
  h.controlplane_pid.store(0);
  h.state.store(static_cast<uint32_t>(SegmentState::ready), std::memory_order_release);
  name_ = name;
  fd_ = fd;
  segment_ = seg;
  return true;
}

void SegmentOwner::close() {
  if (!segment_) return;
  segment_->header.state.store(static_cast<uint32_t>(SegmentState::closed), std::memory_order_release);
  struct stat st;
  if (fstat(fd_, &st) == 0 && inode_of_name(name_) == static_cast<uint64_t>(st.st_ino)) shm_unlink(name_.c_str());
  munmap(segment_, sizeof(Segment));
  ::close(fd_);
  segment_ = nullptr;
  fd_ = -1;
}

// --- SegmentClient

SegmentClient::~SegmentClient() { detach(); }

SegmentClient::Attach SegmentClient::attach(const std::string& name, std::string* error) {
  detach();
  int fd = shm_open(name.c_str(), O_RDWR, 0);
  if (fd < 0) {
    *error = errno_text("shm_open", name);
    return errno == ENOENT ? Attach::absent : Attach::error;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *error = errno_text("fstat", name);
    ::close(fd);
    return Attach::error;
  }
  if (static_cast<size_t>(st.st_size) < sizeof(Header)) {
    *error = name + ": segment is " + std::to_string(st.st_size) + " bytes, smaller than a header (still being created?)";
    ::close(fd);
    return Attach::not_ready;
  }
  // Check the header before trusting the size of the rest. A header still being written
  // (no magic yet, or not ready) or one whose lbdp is gone is not ready, not a mismatch.
  Header header;
  if (pread(fd, &header, sizeof(Header), 0) != static_cast<ssize_t>(sizeof(Header))) {
    *error = errno_text("read header of", name);
    ::close(fd);
    return Attach::error;
  }
  // Magic, version and header size first: their place never moves, so another build's
  // segment is named a mismatch rather than taken for one that is not ready yet.
  if (header.magic != 0 && (header.magic != kMagic || header.layout_version != kLayoutVersion ||
                            header.header_size != sizeof(Header))) {
    *error = name + ": layout mismatch (segment has magic " + std::to_string(header.magic) + " layout version " +
             std::to_string(header.layout_version) + "; this build expects version " + std::to_string(kLayoutVersion) +
             "): lbdp and lbcp must be built from the same source";
    ::close(fd);
    return Attach::mismatch;
  }
  if (header.magic == 0 || header.state.load() != static_cast<uint32_t>(SegmentState::ready) ||
      !byte_locked_by_other(fd, kDataplaneLockByte)) {
    *error = name + ": segment is not ready (lbdp starting, stopped or gone)";
    ::close(fd);
    return Attach::not_ready;
  }
  LayoutInfo mine = this_layout();
  if (header.magic != kMagic || header.layout_version != kLayoutVersion || header.header_size != sizeof(Header) ||
      std::memcmp(&header.layout, &mine, sizeof(LayoutInfo)) != 0 || static_cast<size_t>(st.st_size) != sizeof(Segment)) {
    *error = name + ": layout mismatch (segment has magic " + std::to_string(header.magic) + " layout version " +
             std::to_string(header.layout_version) + ", size " + std::to_string(st.st_size) + "; this build expects version " +
             std::to_string(kLayoutVersion) + ", size " + std::to_string(sizeof(Segment)) +
             "): lbdp and lbcp must be built from the same source";
    ::close(fd);
    return Attach::mismatch;
  }
  if (!lock_byte(fd, kControlPlaneLockByte)) {
    *error = name + ": another control plane is attached (pid " + std::to_string(header.controlplane_pid.load()) + ")";
    ::close(fd);
    return Attach::locked;
  }
  void* mem = mmap(nullptr, sizeof(Segment), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mem == MAP_FAILED) {
    *error = errno_text("mmap", name);
    ::close(fd);
    return Attach::error;
  }
  auto* seg = static_cast<Segment*>(mem);
  name_ = name;
  fd_ = fd;
  inode_ = static_cast<uint64_t>(st.st_ino);
  segment_ = seg;
  seg->header.controlplane_pid.store(getpid());
  seg->header.controlplane_alive_ms.store(monotonic_ms());
  return Attach::ok;
}

void SegmentClient::detach() {
  if (!segment_) return;
  int32_t me = getpid();
  segment_->header.controlplane_pid.compare_exchange_strong(me, 0);
  munmap(segment_, sizeof(Segment));
  ::close(fd_);  // releases the lock
  segment_ = nullptr;
  fd_ = -1;
  inode_ = 0;
}

bool SegmentClient::superseded() const {
  if (!segment_) return true;
  if (segment_->header.state.load(std::memory_order_acquire) != static_cast<uint32_t>(SegmentState::ready)) return true;
  if (!byte_locked_by_other(fd_, kDataplaneLockByte)) return true;  // lbdp died (SIGKILL, crash)
  return inode_of_name(name_) != inode_;
}

}  // namespace lb::shm
