#include "builder/read_ahead.hpp"

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace rafs::builder {

namespace {

// The buffers a ReadAhead fills. One that a view holder keeps (a chunk
// waiting to be written, view_owner()) comes back here when the last holder
// drops it, possibly after the ReadAhead itself is gone.
class BufferPool {
public:
  explicit BufferPool(std::size_t buffer_size) : m_size(buffer_size) {}

  std::vector<std::uint8_t> take() {
    std::lock_guard lock(m_mutex);
    if (m_free.empty()) {
      return std::vector<std::uint8_t>(m_size);
    }
    std::vector<std::uint8_t> b = std::move(m_free.back());
    m_free.pop_back();
    return b;
  }

  void give_back(std::vector<std::uint8_t> b) {
    std::lock_guard lock(m_mutex);
    m_free.push_back(std::move(b));
  }

private:
  const std::size_t m_size;
  std::mutex m_mutex;
  std::vector<std::vector<std::uint8_t>> m_free;
};

using SharedBuffer = std::shared_ptr<std::vector<std::uint8_t>>;

// Hands `b` out shared; the last holder gives it back to `pool`.
SharedBuffer share(std::vector<std::uint8_t> b, const std::shared_ptr<BufferPool>& pool) {
  return SharedBuffer(new std::vector<std::uint8_t>(std::move(b)), [pool](std::vector<std::uint8_t>* p) {
    std::unique_ptr<std::vector<std::uint8_t>> own(p);
    pool->give_back(std::move(*own));
  });
}

class ReadAhead final : public ReadAheadReader {
public:
  ReadAhead(std::unique_ptr<ByteReader> inner, std::size_t buffer_size, std::size_t buffers)
      : m_inner(std::move(inner)), m_name(m_inner->name()), m_depth(std::max<std::size_t>(buffers, 2)),
        m_pool(std::make_shared<BufferPool>(std::max<std::size_t>(buffer_size, 4096))) {
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
    std::memcpy(out.data(), m_current.data->data() + m_pos, n);
    m_pos += n;
    return n;
  }

  Result<Bytes> view() override {
    RAFS_TRY_ASSIGN(bool more, current());
    if (!more) {
      return Bytes{};
    }
    Bytes piece = Bytes(*m_current.data).subspan(m_pos, m_current.len - m_pos);
    m_pos = m_current.len; // the next call moves on to the next buffer
    return piece;
  }

  // The buffer of the last view: refilled only once every holder drops it.
  std::shared_ptr<const void> view_owner() const override { return m_current.data; }

  std::string name() const override { return m_name; }
  std::uint64_t raw_bytes_read() const override { return m_raw.load(std::memory_order_relaxed); }

private:
  // Makes m_current a buffer with unread bytes (dropping the used-up one:
  // back to the pool unless a view of it is held); false at the end.
  Result<bool> current() {
    while (m_pos == m_current.len) {
      m_current = Filled{};
      m_pos = 0;
      std::unique_lock lock(m_mutex);
      m_changed.wait(lock, [&] { return !m_ready.empty() || m_end; });
      if (m_ready.empty()) {
        if (m_error) {
          return *m_error;
        }
        return false;
      }
      m_current = std::move(m_ready.front());
      m_ready.pop_front();
      m_changed.notify_all(); // room for another filled buffer
    }
    return true;
  }

  struct Filled {
    SharedBuffer data;
    std::size_t len = 0;
  };

  // Keeps up to m_depth buffers ahead, counting the caller's current one
  // and the one being filled. Buffers that views still hold do not count:
  // the pool makes new ones (bounded by what the blob writer keeps in
  // flight), so the stream never waits for a chunk to be written.
  void produce() {
    for (;;) {
      {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return m_stop || m_ready.size() + 1 < m_depth; });
        if (m_stop) {
          return;
        }
      }
      std::vector<std::uint8_t> b = m_pool->take();
      // Fill the whole buffer (or to the end): fewer, larger hand-offs.
      std::size_t len = 0;
      bool end = false;
      std::optional<Error> error;
      while (len < b.size()) {
        auto n = m_inner->read(MutableBytes(b).subspan(len));
        if (!n) {
          error = std::move(n).error();
          end = true;
          break;
        }
        if (*n == 0) {
          end = true;
          break;
        }
        len += *n;
      }
      m_raw.store(m_inner->raw_bytes_read(), std::memory_order_relaxed);
      std::lock_guard lock(m_mutex);
      if (len > 0) {
        m_ready.push_back(Filled{share(std::move(b), m_pool), len});
      } else {
        m_pool->give_back(std::move(b));
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
  const std::size_t m_depth;
  std::shared_ptr<BufferPool> m_pool;
  std::atomic<std::uint64_t> m_raw{0};

  std::mutex m_mutex;
  std::condition_variable m_changed;
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
