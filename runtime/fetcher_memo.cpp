#include "runtime/fetcher_memo.hpp"

namespace rafs::runtime {

ChunkMemo::Data ChunkMemo::find(std::uint64_t key) {
  std::lock_guard lock(m_mutex);
  for (auto it = m_lru.begin(); it != m_lru.end(); ++it) {
    if (it->first == key) {
      m_lru.splice(m_lru.begin(), m_lru, it);
      return m_lru.front().second;
    }
  }
  return nullptr;
}

void ChunkMemo::put(std::uint64_t key, Data data) {
  if (!data || data->size() > m_max) {
    return;
  }
  std::lock_guard lock(m_mutex);
  for (auto it = m_lru.begin(); it != m_lru.end(); ++it) {
    if (it->first == key) {
      m_bytes -= it->second->size();
      m_lru.erase(it);
      break;
    }
  }
  m_bytes += data->size();
  m_lru.emplace_front(key, std::move(data));
  while (m_bytes > m_max) {
    m_bytes -= m_lru.back().second->size();
    m_lru.pop_back();
  }
}

} // namespace rafs::runtime
