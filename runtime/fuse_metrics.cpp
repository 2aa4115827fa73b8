#include "runtime/fuse_metrics.hpp"

#include <nlohmann/json.hpp>
#include <pthread.h>
#include <signal.h>

#include "format/file.hpp"

namespace rafs::runtime {

std::string stats_json(const StoreStats& s) {
  const nlohmann::json j = {
      {"backend_reads", s.backend_reads}, {"backend_bytes", s.backend_bytes},
      {"cache_hits", s.cache_hits},       {"chunks_fetched", s.chunks_fetched},
      {"bad_chunks", s.bad_chunks},       {"prefetch_chunks", s.prefetch_chunks},
      {"prefetch_done", s.prefetch_done},
  };
  return j.dump(2) + "\n";
}

Result<void> write_stats(const std::filesystem::path& path, const StoreStats& stats) {
  RAFS_TRY_ASSIGN(AtomicFile out, AtomicFile::create(path));
  const std::string text = stats_json(stats);
  RAFS_TRY(out.write(Bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size())));
  return out.commit();
}

MetricsWriter::MetricsWriter(std::filesystem::path path, const ChunkStore& store)
    : m_path(std::move(path)), m_store(store) {
  (void)write_now();
  m_thread = std::thread([this] { run(); });
}

MetricsWriter::~MetricsWriter() {
  m_stop = true;
  // Thread-directed, so it reaches this thread's sigwait even while the
  // signal is blocked everywhere.
  pthread_kill(m_thread.native_handle(), SIGUSR1);
  m_thread.join();
}

Result<void> MetricsWriter::write_now() const { return write_stats(m_path, m_store.stats()); }

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
