#include "runtime/fuse_metrics.hpp"

#include <nlohmann/json.hpp>
#include <pthread.h>
#include <signal.h>

#include <cstdio>

#include "format/file.hpp"

namespace rafs::runtime {

std::string stats_json(const StoreStats& s) {
  const nlohmann::json j = {
      {"backend_reads", s.backend_reads}, {"backend_bytes", s.backend_bytes},
      {"cache_hits", s.cache_hits},       {"chunks_fetched", s.chunks_fetched},
      {"bad_chunks", s.bad_chunks},       {"prefetch_chunks", s.prefetch_chunks},
      {"prefetch_done", s.prefetch_done}, {"registry_requests", s.registry_requests},
      {"registry_bytes", s.registry_bytes}, {"registry_retries", s.registry_retries},
  };
  return j.dump(2) + "\n";
}

std::string stats_line(const StoreStats& s) {
  return "backend: " + std::to_string(s.backend_reads) + " reads, " + std::to_string(s.backend_bytes) +
         " bytes; registry: " + std::to_string(s.registry_requests) + " requests, " +
         std::to_string(s.registry_bytes) + " bytes, " + std::to_string(s.registry_retries) +
         " retries; cache: " + std::to_string(s.cache_hits) + " hits, " + std::to_string(s.chunks_fetched) +
         " chunks fetched, " + std::to_string(s.bad_chunks) + " bad; prefetch: " +
         std::to_string(s.prefetch_chunks) + " chunks" + (s.prefetch_done ? ", done" : "");
}

Result<void> write_stats(const std::filesystem::path& path, const StoreStats& stats) {
  RAFS_TRY_ASSIGN(AtomicFile out, AtomicFile::create(path));
  const std::string text = stats_json(stats);
  RAFS_TRY(out.write(Bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size())));
  return out.commit();
}

MetricsWriter::MetricsWriter(std::filesystem::path path, const ChunkStore& store)
    : m_path(std::move(path)), m_store(store) {
  (void)write_file(m_store.stats()); // the file only: nothing has happened to log yet
  m_thread = std::thread([this] { run(); });
}

MetricsWriter::~MetricsWriter() {
  m_stop = true;
  // Thread-directed, so it reaches this thread's sigwait even while the
  // signal is blocked everywhere.
  pthread_kill(m_thread.native_handle(), SIGUSR1);
  m_thread.join();
}

Result<void> MetricsWriter::write_now() const {
  const StoreStats s = m_store.stats();
  std::fprintf(stderr, "rafs: %s\n", stats_line(s).c_str());
  std::fflush(stderr);
  return write_file(s);
}

Result<void> MetricsWriter::write_file(const StoreStats& s) const {
  return m_path.empty() ? Result<void>() : write_stats(m_path, s);
}

void MetricsWriter::run() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  while (!m_stop) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0 || m_stop) {
      break;
    }
    // A failed write (disk full...) only loses this snapshot.
    (void)write_now();
  }
}

} // namespace rafs::runtime
