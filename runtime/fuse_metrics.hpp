// The mount's --metrics file: the ChunkStore's StoreStats as a JSON object
// whose keys are StoreStats' field names, written atomically (temp file +
// rename) at mount, on every SIGUSR1 and at exit; and the same as one line
// on stderr (the daemon's log: --log-file, or the terminal with -f) on
// SIGUSR1 and at exit.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>

#include "format/error.hpp"
#include "runtime/chunk_store.hpp"

namespace rafs::runtime {

std::string stats_json(const StoreStats& stats);
// "backend: N reads, B bytes; registry: ...; cache: ...; prefetch: ..."
std::string stats_line(const StoreStats& stats);
[[nodiscard]] Result<void> write_stats(const std::filesystem::path& path, const StoreStats& stats);

// A thread that writes the store's stats to `path` on each SIGUSR1, which
// must be blocked in every thread (block_daemon_signals()).
class MetricsWriter {
public:
  // Writes once, then starts the thread. `store` must outlive the writer.
  // An empty `path` writes only the log line.
  MetricsWriter(std::filesystem::path path, const ChunkStore& store);
  // Stops the thread (the final write is the caller's: write_now()).
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  // Logs the stats line and writes the file.
  [[nodiscard]] Result<void> write_now() const;

private:
  void run();
  [[nodiscard]] Result<void> write_file(const StoreStats& s) const;

  std::filesystem::path m_path;
  const ChunkStore& m_store;
  std::atomic<bool> m_stop{false};
  std::thread m_thread;
};

} // namespace rafs::runtime
