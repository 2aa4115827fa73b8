// `rafs mount BOOTSTRAP|IMAGE MOUNTPOINT [-D BLOB_DIR]
// [--config FILE.json] [--cache-dir DIR] [--prefetch-files FILE]
// [--record-access FILE] [--metrics FILE] [--log-file FILE] [-f] [-o OPTIONS]`:
// serves the image read-only over FUSE. IMAGE is docker://HOST/REPO:TAG,
// oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:REF]. From
// a registry, the bootstrap is fetched at mount and the data blobs are read
// on demand (registry backend); an archive's blobs are read in place.
//
// Unless -f, the process forks at once: the child starts a new session,
// checks everything that can be checked before mounting (config, bootstrap,
// blob dir, mountpoint, prefetch list), opens the chunk store, mounts, and
// reports over a pipe either "ready" (the parent exits 0: the mount is
// live) or the error text (the parent prints it as one line and exits 1).
// Forking first keeps the image out of the caller, which then has nothing
// to copy on write or free: the mount is ready sooner. Once ready,
// the child's stdio goes to /dev/null and it serves until unmounted or
// signalled (SIGTERM/SIGINT/SIGHUP), then shuts the store down (the cache
// record made durable), writes the metrics and exits 0.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <csignal>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>
#include <sstream>

#include "builder/prefetch_list.hpp"
#include "cli/build_flags.hpp"
#include "cli/commands.hpp"
#include "cli/registry_flags.hpp"
#include "cli/nydus_image.hpp"
#include "format/bootstrap.hpp"
#include "format/file.hpp"
#include "format/layout.hpp"
#include "runtime/chunk_store.hpp"
#include "runtime/config.hpp"
#include "runtime/deferred_store.hpp"
#include "runtime/fuse_fs.hpp"
#include "runtime/fuse_metrics.hpp"
#include "runtime/fuse_session.hpp"

namespace rafs::cli {

namespace {

namespace fs = std::filesystem;

struct MountOptions {
  std::string bootstrap;
  std::string mountpoint;
  std::string blob_dir;
  std::string config;
  std::string cache_dir;
  std::string prefetch_files;
  std::string record_access;
  std::string metrics;
  std::string log_file;
  RegistryFlags registry;
  bool foreground = false;
  bool dev = false;  // device nodes usable (containers need /dev/null...)
  bool suid = false; // setuid bits honoured (containers running sudo, ping...)
  std::uint32_t busy_poll_us = 0; // 0: no spinner (runtime/wake_spinner.hpp)
  std::uint32_t poll_idle_ms = 20; // 0: no wake-latency hold (runtime/wake_latency.hpp)
  std::vector<std::string> fuse_options;
};

// What the daemon needs, resolved before it starts; paths are absolute
// (the daemon runs in "/").
struct MountPlan {
  std::optional<v5::Bootstrap> boot;
  runtime::RuntimeConfig config;
  std::vector<std::uint32_t> prefetch; // bootstrap indexes
  fs::path mountpoint;
  fs::path metrics;
  fs::path log_file;
  fs::path record_access;
  std::uint32_t busy_poll_us = 0;
  std::uint32_t poll_idle_ms = 0;
  std::vector<std::string> fuse_options;
};

constexpr std::uint64_t k_max_config_size = 1 << 20;
constexpr std::uint64_t k_max_list_size = 64 << 20;

fs::path absolute_or_empty(const fs::path& p) { return p.empty() ? p : fs::absolute(p); }

Result<runtime::RuntimeConfig> load_config(const MountOptions& o) {
  runtime::RuntimeConfig c;
  if (!o.config.empty()) {
    RAFS_TRY_ASSIGN(auto bytes, read_whole_file(o.config, k_max_config_size));
    RAFS_TRY_ASSIGN(c, runtime::parse_config(std::string_view(reinterpret_cast<const char*>(bytes.data()),
                                                              bytes.size()),
                                             o.config));
  }
  if (!o.blob_dir.empty()) {
    c.blob_dir = o.blob_dir;
    c.blob_file.clear();
  }
  if (!o.cache_dir.empty()) {
    c.cache_enabled = true;
    c.cache_dir = o.cache_dir;
  }
  c.blob_dir = absolute_or_empty(c.blob_dir);
  c.blob_file = absolute_or_empty(c.blob_file);
  for (fs::path& d : c.alt_dirs) {
    d = absolute_or_empty(d);
  }
  c.cache_dir = absolute_or_empty(c.cache_dir);
  return c;
}

Result<void> check_backend(const runtime::RuntimeConfig& c, const v5::Bootstrap& boot) {
  if (!c.blob_file.empty() || !c.blob_extents.empty() || c.backend == runtime::BackendType::registry) {
    return {};
  }
  if (c.blob_dir.empty()) {
    if (boot.blobs().empty()) {
      return {};
    }
    return make_error(Errc::invalid_argument,
                      boot.name() + ": no blob directory: give -D BLOB_DIR or "
                                    "device.backend.config.dir in --config");
  }
  std::error_code ec;
  if (!fs::is_directory(c.blob_dir, ec)) {
    return make_error(Errc::not_found, c.blob_dir.string() + ": blob directory does not exist");
  }
  return {};
}

// "/a\040b" in mountinfo is "/a b".
std::string unescape_mountinfo(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() &&
        s.find_first_not_of("01234567", i + 1) >= i + 4) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool is_mountpoint(const fs::path& dir) {
  // One statx where the kernel tells (Linux 5.8+); /proc/self/mountinfo else.
  struct statx sx {};
  if (::statx(AT_FDCWD, dir.c_str(), 0, STATX_BASIC_STATS, &sx) == 0 &&
      (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0) {
    return (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  }
  std::error_code ec;
  const fs::path real = fs::canonical(dir, ec);
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; !ec && std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, point;
    if (fields >> id >> parent >> devno >> root >> point && unescape_mountinfo(point) == real.string()) {
      return true;
    }
  }
  return false;
}

Error dead_mount(const fs::path& mp) {
  return make_error(Errc::io, mp.string() + ": mountpoint is a dead FUSE mount (transport endpoint is "
                                            "not connected; unmount it first: fusermount3 -u)");
}

// A directory we can mount on: exists, is a directory, is not a mount
// already (live or dead).
Result<void> check_mountpoint(const fs::path& mp) {
  struct stat st {};
  if (::stat(mp.c_str(), &st) != 0) {
    const int err = errno;
    if (err == ENOENT) {
      return make_error(Errc::not_found, mp.string() + ": mountpoint does not exist");
    }
    if (err == ENOTCONN) {
      return dead_mount(mp);
    }
    return make_error(Errc::io, mp.string() + ": mountpoint: " + std::strerror(err));
  }
  if (!S_ISDIR(st.st_mode)) {
    return make_error(Errc::invalid_argument, mp.string() + ": mountpoint is not a directory");
  }
  if (is_mountpoint(mp)) {
    // stat() may answer from the kernel's cache; statfs always asks the
    // filesystem, so it sees a FUSE daemon that died.
    struct statvfs sv {};
    if (::statvfs(mp.c_str(), &sv) != 0 && errno == ENOTCONN) {
      return dead_mount(mp);
    }
    return make_error(Errc::invalid_argument, mp.string() + ": mountpoint is busy: something is "
                                                            "already mounted there");
  }
  return {};
}

// The bootstrap indexes to prefetch: --prefetch-files (absolute paths, one
// per line, as `rafs create --prefetch-policy fs` reads them; paths not in
// the image are warned about) or else the bootstrap's prefetch table
// (inode numbers, which are the indexes of first links).
Result<std::vector<std::uint32_t>> prefetch_indexes(const MountOptions& o, const v5::Bootstrap& b) {
  if (o.prefetch_files.empty()) {
    return b.prefetch_table();
  }
  RAFS_TRY_ASSIGN(auto bytes, read_whole_file(o.prefetch_files, k_max_list_size));
  std::vector<std::string> warnings;
  const auto list = builder::PrefetchList::parse(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), warnings);
  std::vector<std::uint32_t> out;
  for (const std::string& p : list.paths()) {
    auto index = b.lookup(p);
    if (!index) {
      warnings.push_back(o.prefetch_files + ": /" + p + " is not in the image, not prefetched");
      continue;
    }
    out.push_back(b.ino_index(*index));
  }
  print_warnings(warnings);
  return out;
}

// docker://HOST/REPO:TAG: the bootstrap from the image's bootstrap layer,
// and the registry backend on that repository for the blobs.
Result<v5::Bootstrap> open_registry_image(const MountOptions& o, runtime::RuntimeConfig& config) {
  RAFS_TRY_ASSIGN(net::RegistryOptions options, registry_options(o.registry, RegistrySide::source));
  RAFS_TRY_ASSIGN(net::ImageRef ref, net::parse_image_ref(o.bootstrap));
  RAFS_TRY_ASSIGN(auto registry, net::Registry::connect(ref, options, "pull"));
  RAFS_TRY_ASSIGN(NydusBootstrap fetched, fetch_bootstrap(*registry));
  runtime::RegistryBackendConfig& rc = config.registry;
  config.backend = runtime::BackendType::registry;
  rc.host = ref.host;
  rc.repo = ref.repo;
  rc.scheme = registry->base_url().substr(0, registry->base_url().find(':')); // as connect settled it
  rc.skip_verify = !o.registry.tls_verify;
  rc.ca_cert_files = options.http.ca_files;
  rc.creds = registry->credentials();
  return v5::Bootstrap::from_buffer(std::move(fetched.bytes), o.bootstrap + ": image.boot");
}

// oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:REF]: a
// Nydus image as `rafs convert` writes one. The bootstrap comes from its
// bootstrap layer; the data blobs are read in place (a layout's
// blobs/sha256 files, an archive's members at their offsets) unless the
// config names a backend of its own.
Result<v5::Bootstrap> open_oci_image(const MountOptions& o, runtime::RuntimeConfig& config) {
  RAFS_TRY_ASSIGN(builder::ImageStore s, builder::open_image_store(o.bootstrap));
  if (s.format == builder::ImageFormat::docker_archive) {
    // Docker 25+ (and rafs) write the OCI layout, with the Nydus
    // annotations, beside manifest.json; manifest.json alone has none.
    RAFS_TRY_ASSIGN(auto index, s.store->size_of("index.json"));
    if (!index) {
      return make_error(Errc::unsupported, o.bootstrap + ": a docker-archive without index.json (docker before 25) "
                                                         "cannot hold a Nydus image");
    }
    s.format = builder::ImageFormat::oci_archive;
  }
  RAFS_TRY_ASSIGN(auto image, builder::OciImage::open(std::move(s.store), s.format, o.bootstrap, s.tag, std::nullopt));
  RAFS_TRY_ASSIGN(NydusBootstrap read, read_image_bootstrap(*image));
  if (config.backend == runtime::BackendType::localfs && config.blob_dir.empty() && config.blob_file.empty()) {
    for (const builder::LayerDescriptor& l : image->layers()) {
      if (l.nydus_blob) {
        RAFS_TRY_ASSIGN(builder::FileExtent e, image->store().locate(l.path));
        config.blob_extents[l.digest.substr(l.digest.find(':') + 1)] = {fs::absolute(e.file), e.offset, e.size};
      }
    }
  }
  return v5::Bootstrap::from_buffer(std::move(read.bytes), o.bootstrap + ": image.boot");
}

bool names_oci_image(const std::string& image) {
  return image.rfind("oci:", 0) == 0 || image.rfind("oci-archive:", 0) == 0 ||
         image.rfind("docker-archive:", 0) == 0;
}

Result<MountPlan> make_plan(const MountOptions& o) {
  MountPlan plan;
  RAFS_TRY_ASSIGN(plan.config, load_config(o));
  if (net::is_docker_ref(o.bootstrap)) {
    RAFS_TRY_ASSIGN(auto boot, open_registry_image(o, plan.config));
    plan.boot.emplace(std::move(boot));
  } else if (names_oci_image(o.bootstrap)) {
    RAFS_TRY_ASSIGN(auto boot, open_oci_image(o, plan.config));
    plan.boot.emplace(std::move(boot));
  } else {
    RAFS_TRY_ASSIGN(auto boot, v5::Bootstrap::open(o.bootstrap));
    plan.boot.emplace(std::move(boot));
  }
  RAFS_TRY(check_backend(plan.config, *plan.boot));
  plan.mountpoint = fs::absolute(o.mountpoint);
  RAFS_TRY(check_mountpoint(plan.mountpoint));
  RAFS_TRY_ASSIGN(plan.prefetch, prefetch_indexes(o, *plan.boot));
  if (!o.prefetch_files.empty() && !plan.config.prefetch.enable) {
    print_warnings({"--prefetch-files: fs_prefetch.enable is off (see --config): nothing is prefetched"});
  }
  plan.metrics = absolute_or_empty(o.metrics);
  plan.log_file = absolute_or_empty(o.log_file);
  plan.record_access = absolute_or_empty(o.record_access);
  plan.busy_poll_us = o.busy_poll_us;
  plan.poll_idle_ms = o.poll_idle_ms;
  plan.fuse_options = {"ro,default_permissions,nodev,nosuid,fsname=rafs,subtype=rafs"};
  if (o.dev) {
    plan.fuse_options.emplace_back("dev");
  }
  if (o.suid) {
    plan.fuse_options.emplace_back("suid");
  }
  plan.fuse_options.insert(plan.fuse_options.end(), o.fuse_options.begin(), o.fuse_options.end());
  return plan;
}

// Called once the mount is live (or never, on an error before it is).
using ReadyFn = std::function<void()>;

// Mounts, serves until unmounted or signalled. The chunk store (blob
// layouts, the cache) opens on its own thread meanwhile: metadata is
// answered at once, reads wait for the store. `ready` runs once the store
// is open too; if it fails to open, the mount ends and serve() returns
// that error.
Result<void> serve(const MountPlan& plan, const ReadyFn& ready) {
  runtime::block_daemon_signals(); // before any thread exists
  const v5::Bootstrap& boot = *plan.boot;
  runtime::DeferredStore store([&] { return runtime::open_chunk_store(boot, plan.config); });
  runtime::FsOptions fs_options;
  fs_options.serve_xattrs =
      plan.config.enable_xattr || (boot.super_block().flags & v5::k_sb_has_xattr) != 0;
  fs_options.record_access = plan.record_access;
  std::optional<runtime::WakeSpinner> spinner;
  if (plan.busy_poll_us > 0) {
    fs_options.spinner = &spinner.emplace(std::chrono::microseconds(plan.busy_poll_us));
  }
  std::optional<runtime::WakeLatencyHold> latency_hold;
  if (plan.poll_idle_ms > 0) {
    fs_options.latency_hold = &latency_hold.emplace(std::chrono::milliseconds(plan.poll_idle_ms));
  }
  RAFS_TRY_ASSIGN(auto filesystem, runtime::FuseFs::create(boot, store, fs_options));
  runtime::SessionOptions session_options;
  session_options.mountpoint = plan.mountpoint;
  session_options.options = plan.fuse_options;
  RAFS_TRY_ASSIGN(auto session, runtime::FuseSession::mount(*filesystem, session_options));

  // The stats go to the log (stderr) on SIGUSR1 and at exit, and to
  // --metrics when given.
  std::optional<runtime::MetricsWriter> metrics;
  std::mutex mutex;
  bool ended = false; // the session ended before the store opened
  std::thread starter([&] {
    auto opened = store.wait();
    std::lock_guard lock(mutex);
    if (ended) {
      return;
    }
    if (!opened) {
      ::kill(::getpid(), SIGTERM); // ends the session loop like a user's SIGTERM
      return;
    }
    metrics.emplace(plan.metrics, store); // writes the stats at mount
    ready();
    if (plan.config.prefetch.enable) {
      store.start_prefetch(plan.prefetch);
    }
  });
  auto served = session->serve();
  {
    std::lock_guard lock(mutex);
    ended = true;
  }
  starter.join();
  RAFS_TRY(store.wait());
  store.shutdown();
  if (metrics) {
    (void)metrics->write_now();
  }
  return served;
}

// Redirects stdin and stdout to /dev/null, and stderr too unless there is
// a log file (appended to).
void detach_stdio(const fs::path& log_file) {
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  UniqueFd log;
  if (!log_file.empty()) {
    log.reset(::open(log_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
  }
  if (null) {
    ::dup2(null.get(), 0);
    ::dup2(null.get(), 1);
    ::dup2(log ? log.get() : null.get(), 2);
  }
}

void write_all(int fd, const std::string& s) {
  for (std::size_t done = 0; done < s.size();) {
    const ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n <= 0) {
      return;
    }
    done += static_cast<std::size_t>(n);
  }
}

// The daemon side of the fork: "R" on the pipe once mounted, or "E" and the
// error text.
int run_child(const MountPlan& plan, UniqueFd pipe_out) {
  ::setsid();
  bool is_ready = false;
  auto served = serve(plan, [&] {
    write_all(pipe_out.get(), "R");
    pipe_out.reset();
    is_ready = true;
    detach_stdio(plan.log_file);
    (void)!::chdir("/");
  });
  if (!served && !is_ready) {
    write_all(pipe_out.get(), "E" + served.error().message);
  }
  return served ? k_exit_ok : k_exit_bad_input;
}

// The caller's side: waits until the child is ready or failed.
int wait_for_child(pid_t pid, UniqueFd pipe_in) {
  std::string msg;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(pipe_in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    msg.append(buf, static_cast<std::size_t>(n));
  }
  if (msg == "R") {
    return k_exit_ok;
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!msg.empty() && msg[0] == 'E') {
    return report(make_error(Errc::io, msg.substr(1)));
  }
  return report(make_error(Errc::internal, "the mount daemon exited before the mount was ready"));
}

// Forks first: the daemon validates the image and opens everything itself,
// so nothing the caller loaded is copied on write or freed twice, and the
// caller only waits for "R" or the error.
int daemonize(const MountOptions& o) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return report(sys_error("pipe"));
  }
  UniqueFd pipe_in(fds[0]);
  UniqueFd pipe_out(fds[1]);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    return report(sys_error("fork"));
  }
  if (pid == 0) {
    pipe_in.reset();
    auto plan = make_plan(o);
    if (!plan) {
      write_all(pipe_out.get(), "E" + plan.error().message);
      return k_exit_bad_input;
    }
    return run_child(*plan, std::move(pipe_out));
  }
  pipe_out.reset();
  return wait_for_child(pid, std::move(pipe_in));
}

int run_mount(const MountOptions& o) {
  if (!o.foreground) {
    return daemonize(o);
  }
  auto plan = make_plan(o);
  if (!plan) {
    return report(plan.error());
  }
  auto served = serve(*plan, [] {});
  return served ? k_exit_ok : report(served.error());
}

} // namespace

Action setup_mount(CLI::App& app) {
  auto o = std::make_shared<MountOptions>();
  app.add_option("BOOTSTRAP", o->bootstrap,
                 "Bootstrap file, or a Nydus image: docker://HOST/REPO[:TAG|@DIGEST] in a registry, or "
                 "oci:DIR[:TAG], oci-archive:FILE[:TAG] or docker-archive:FILE[:REF] (as rafs convert writes "
                 "them; an archive must be uncompressed, its blobs are read in place)")
      ->required();
  app.add_option("MOUNTPOINT", o->mountpoint, "Directory to mount on")->required();
  app.add_option("-D,--blob-dir", o->blob_dir, "Blob directory (overrides device.backend.config.dir)")
      ->check(CLI::ExistingDirectory);
  app.add_option("--config", o->config, "nydusd v1 rafs config JSON (schemas/mount-config.schema.json)");
  app.add_option("--cache-dir", o->cache_dir, "Enable the blob cache in this directory");
  app.add_option("--prefetch-files", o->prefetch_files,
                 "Prefetch these paths (one absolute path per line) instead of the bootstrap's table");
  app.add_option("--record-access", o->record_access,
                 "Append each regular file's path to this file the first time it is opened");
  app.add_option("--metrics", o->metrics,
                 "Write the store's counters as JSON here at mount, on SIGUSR1 and at exit");
  app.add_option("--log-file", o->log_file,
                 "The daemon's log (errors, and the stats on SIGUSR1 and at exit); default: none");
  add_registry_flags(app, o->registry, /*two_sides=*/false);
  app.add_flag("-f,--foreground", o->foreground, "Stay in the foreground");
  app.add_flag("--dev", o->dev, "Honour device nodes (default nodev; a container root needs this)");
  app.add_flag("--suid", o->suid, "Honour setuid and setgid bits (default nosuid; a container root needs this)");
  app.add_option("--busy-poll-us", o->busy_poll_us,
                 "Keep a CPU busy (one thread at nice 19) for this long after each request, so "
                 "requests do not wait for an idle CPU to wake up; helps on small VMs, costs CPU "
                 "(default 0: off)")
      ->check(CLI::Range(0, 1'000'000));
  app.add_option("--poll-idle-ms", o->poll_idle_ms,
                 "While requests arrive and this long after the last, ask the kernel to keep idle "
                 "CPUs polling instead of halting (PM QoS, /dev/cpu_dma_latency; needs root), so "
                 "each request's wake-ups are fast; costs power while requests flow (0: off)")
      ->check(CLI::Range(0, 60'000))
      ->capture_default_str();
  app.add_option("-o", o->fuse_options, "FUSE mount options (e.g. allow_other), may repeat")
      ->allow_extra_args(false);
  return [o] { return run_mount(*o); };
}

} // namespace rafs::cli
