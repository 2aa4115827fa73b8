#define FUSE_USE_VERSION 312

#include "runtime/fuse_session.hpp"

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <signal.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace rafs::runtime {

namespace {

sigset_t daemon_signals(bool with_usr1) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  if (with_usr1) {
    sigaddset(&set, SIGUSR1);
  }
  return set;
}

// libfuse reports mount problems through its log function (on stderr by
// default); while mounting we collect them for the error message instead.
class LogCapture {
public:
  LogCapture() {
    const std::lock_guard lock(mutex());
    text().clear();
    fuse_set_log_func(&LogCapture::collect);
  }
  ~LogCapture() { fuse_set_log_func(nullptr); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // What libfuse said, on one line ("" when nothing).
  static std::string said() {
    const std::lock_guard lock(mutex());
    std::string out;
    for (char c : text()) {
      out += c == '\n' ? ' ' : c;
    }
    while (!out.empty() && out.back() == ' ') {
      out.pop_back();
    }
    return out;
  }

private:
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static std::string& text() {
    static std::string s;
    return s;
  }
  // fmt is libfuse's own format string (the attribute tells the compiler).
  [[gnu::format(printf, 2, 0)]] static void collect(enum fuse_log_level /*level*/, const char* fmt,
                                                    va_list ap) {
    char buf[1024];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    const std::lock_guard lock(mutex());
    text() += buf;
  }
};

struct ArgsFree {
  fuse_args args = FUSE_ARGS_INIT(0, nullptr);
  ArgsFree() = default;
  ~ArgsFree() { fuse_opt_free_args(&args); }
  ArgsFree(const ArgsFree&) = delete;
  ArgsFree& operator=(const ArgsFree&) = delete;
};

struct LoopConfigFree {
  void operator()(fuse_loop_config* c) const noexcept { fuse_loop_cfg_destroy(c); }
};

Error mount_error(const std::filesystem::path& mountpoint, const std::string& what) {
  std::string said = LogCapture::said();
  return make_error(Errc::io, mountpoint.string() + ": " + what + (said.empty() ? "" : ": " + said));
}

} // namespace

void FuseSession::Destroy::operator()(fuse_session* se) const noexcept { fuse_session_destroy(se); }

Result<std::unique_ptr<FuseSession>> FuseSession::mount(FuseFs& fs, const SessionOptions& options) {
  std::unique_ptr<FuseSession> s(new FuseSession());
  s->m_mountpoint = options.mountpoint;
  s->m_max_threads = options.max_threads;
  const LogCapture capture;
  ArgsFree args;
  if (fuse_opt_add_arg(&args.args, "rafs") != 0) {
    return make_error(Errc::internal, "out of memory");
  }
  for (const std::string& o : options.options) {
    if (fuse_opt_add_arg(&args.args, "-o") != 0 || fuse_opt_add_arg(&args.args, o.c_str()) != 0) {
      return make_error(Errc::internal, "out of memory");
    }
  }
  s->m_session.reset(fuse_session_new(&args.args, &FuseFs::operations(), sizeof(fuse_lowlevel_ops), &fs));
  if (!s->m_session) {
    return mount_error(options.mountpoint, "cannot start a FUSE session");
  }
  if (fuse_session_mount(s->m_session.get(), options.mountpoint.c_str()) != 0) {
    return mount_error(options.mountpoint, "cannot mount");
  }
  s->m_mounted = true;
  return s;
}

FuseSession::~FuseSession() {
  if (m_session && m_mounted) {
    fuse_session_unmount(m_session.get());
  }
}

Result<void> FuseSession::serve() {
  fuse_session* se = m_session.get();
  if (fuse_set_signal_handlers(se) != 0) {
    return make_error(Errc::internal, "cannot install the signal handlers");
  }
  std::unique_ptr<fuse_loop_config, LoopConfigFree> config(fuse_loop_cfg_create());
  if (!config) {
    fuse_remove_signal_handlers(se);
    return make_error(Errc::internal, "out of memory");
  }
  fuse_loop_cfg_set_clone_fd(config.get(), 0);
  fuse_loop_cfg_set_max_threads(config.get(), m_max_threads);
  // Only this thread takes TERM/INT/HUP: libfuse's handler ends the
  // session, and this thread waits for that in the loop.
  const sigset_t ending = daemon_signals(false);
  pthread_sigmask(SIG_UNBLOCK, &ending, nullptr);
  const int rc = fuse_session_loop_mt(se, config.get());
  pthread_sigmask(SIG_BLOCK, &ending, nullptr);
  fuse_remove_signal_handlers(se);
  fuse_session_unmount(se);
  m_mounted = false;
  // rc is 0, a signal number (ended by a signal) or -errno.
  if (rc < 0) {
    return make_error(Errc::io, m_mountpoint.string() + ": FUSE session failed: " + std::strerror(-rc));
  }
  return {};
}

void block_daemon_signals() noexcept {
  const sigset_t set = daemon_signals(true);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

} // namespace rafs::runtime
