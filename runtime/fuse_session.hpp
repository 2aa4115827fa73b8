// A mounted libfuse session serving a FuseFs, and the signal discipline of
// the daemon that runs it.
//
// Signals: block_daemon_signals() runs first, before anything starts a
// thread, so every thread inherits SIGTERM, SIGINT, SIGHUP and SIGUSR1
// blocked. serve() unblocks TERM/INT/HUP in its own thread only (libfuse's
// handlers end the session there; libfuse's workers block every signal),
// and a MetricsWriter thread takes USR1 with sigwait.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "format/error.hpp"
#include "runtime/fuse_fs.hpp"

struct fuse_session;

namespace rafs::runtime {

struct SessionOptions {
  std::filesystem::path mountpoint;
  // Mount options as for `-o` ("ro", "fsname=x", "a,b"), applied in order:
  // a later "dev" undoes an earlier "nodev".
  std::vector<std::string> options;
  unsigned max_threads = 16; // FUSE worker threads
};

class FuseSession {
public:
  // Creates the session and mounts it. Errors carry libfuse's own words
  // ("unknown option(s)", "bad mount point") after the mountpoint.
  // `fs` must outlive the session.
  [[nodiscard]] static Result<std::unique_ptr<FuseSession>> mount(FuseFs& fs,
                                                                  const SessionOptions& options);
  // Unmounts (if serve() did not) and destroys the session.
  ~FuseSession();
  FuseSession(const FuseSession&) = delete;
  FuseSession& operator=(const FuseSession&) = delete;

  // Serves requests on a pool of worker threads until the filesystem is
  // unmounted (`fusermount3 -u`, `umount`) or SIGTERM, SIGINT or SIGHUP
  // arrives; then unmounts. Call from the thread that called
  // block_daemon_signals().
  [[nodiscard]] Result<void> serve();

private:
  struct Destroy {
    void operator()(fuse_session* se) const noexcept;
  };
  FuseSession() = default;

  std::unique_ptr<fuse_session, Destroy> m_session;
  std::filesystem::path m_mountpoint;
  unsigned m_max_threads = 16;
  bool m_mounted = false;
};

// Blocks SIGTERM, SIGINT, SIGHUP and SIGUSR1 in the calling thread (and so
// in every thread created after it).
void block_daemon_signals() noexcept;

} // namespace rafs::runtime
