#include "builder/read_ahead.hpp"

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace rafs::builder {

namespace {

class ReadAhead final : public ReadAheadReader {
public:
  ReadAhead(std::unique_ptr<ByteReader> inner, std::size_t buffer_size, std::size_t buffers)
      : m_inner(std::move(inner)), m_name(m_inner->name()) {
    for (std::size_t i = 0; i < std::max<std::size_t>(buffers, 2); ++i) {
      m_free.emplace_back(std::max<std::size_t>(buffer_size, 4096));
    }
    m_thread = std::thread([this] { produce(); });
  }

  ~ReadAhead() override {
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_changed.notify_all();
    m_thread.join();
  }

  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  Result<std::size_t> read(MutableBytes out) override {
    RAFS_TRY_ASSIGN(bool more, current());
    if (!more) {
      return std::size_t{0};
    }
    const std::size_t n = std::min(out.size(), m_current.len - m_pos);
    std::memcpy(out.data(), m_current.data.data() + m_pos, n);
    m_pos += n;
    return n;
  }

  Result<Bytes> view() override {
    RAFS_TRY_ASSIGN(bool more, current());
    if (!more) {
      return Bytes{};
    }
    Bytes piece = Bytes(m_current.data).subspan(m_pos, m_current.len - m_pos);
    m_pos = m_current.len; // the buffer goes back to the producer on the next call
    return piece;
  }

  std::string name() const override { return m_name; }
  std::uint64_t raw_bytes_read() const override { return m_raw.load(std::memory_order_relaxed); }

private:
  // Makes m_current a buffer with unread bytes (giving the used-up one back
  // to the producer); false at the end.
  Result<bool> current() {
    while (m_pos == m_current.len) {
      std::unique_lock lock(m_mutex);
      if (!m_current.data.empty()) {
        m_free.push_back(std::move(m_current.data));
        m_current = Filled{};
        m_pos = 0;
        m_changed.notify_all();
      }
      m_changed.wait(lock, [&] { return !m_ready.empty() || m_end; });
      if (m_ready.empty()) {
        if (m_error) {
          return *m_error;
        }
        return false;
      }
      m_current = std::move(m_ready.front());
      m_ready.pop_front();
    }
    return true;
  }

  struct Filled {
    std::vector<std::uint8_t> data;
    std::size_t len = 0;
  };

  void produce() {
    for (;;) {
      Filled f;
      {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return m_stop || !m_free.empty(); });
        if (m_stop) {
          return;
        }
        f.data = std::move(m_free.back());
        m_free.pop_back();
      }
      // Fill the whole buffer (or to the end): fewer, larger hand-offs.
      bool end = false;
      std::optional<Error> error;
      while (f.len < f.data.size()) {
        auto n = m_inner->read(MutableBytes(f.data).subspan(f.len));
        if (!n) {
          error = std::move(n).error();
          end = true;
          break;
        }
        if (*n == 0) {
          end = true;
          break;
        }
        f.len += *n;
      }
      m_raw.store(m_inner->raw_bytes_read(), std::memory_order_relaxed);
      std::lock_guard lock(m_mutex);
      if (f.len > 0) {
        m_ready.push_back(std::move(f));
      } else {
        m_free.push_back(std::move(f.data));
      }
      if (end) {
        m_end = true;
        m_error = std::move(error);
        m_changed.notify_all();
        return;
      }
      m_changed.notify_all();
    }
  }

  std::unique_ptr<ByteReader> m_inner;
  const std::string m_name;
  std::atomic<std::uint64_t> m_raw{0};

  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::vector<std::vector<std::uint8_t>> m_free;
  std::deque<Filled> m_ready;
  bool m_end = false;
  bool m_stop = false;
  std::optional<Error> m_error;

  // Caller side.
  Filled m_current;
  std::size_t m_pos = 0;

  std::thread m_thread;
};

} // namespace

std::unique_ptr<ReadAheadReader> read_ahead(std::unique_ptr<ByteReader> inner, std::size_t buffer_size,
                                       std::size_t buffers) {
  return std::make_unique<ReadAhead>(std::move(inner), buffer_size, buffers);
}

} // namespace rafs::builder
