#include "runtime/chunk_cache_layout.hpp"

#include <algorithm>
#include <utility>

namespace rafs::runtime {

std::int64_t BlobLayout::slot_of(std::uint32_t chunk_index) const noexcept {
  auto it = std::lower_bound(indexes.begin(), indexes.end(), chunk_index);
  if (it == indexes.end() || *it != chunk_index) {
    return -1;
  }
  return it - indexes.begin();
}

v5::ChunkInfo BlobLayout::chunk(std::uint32_t blob_index, std::uint32_t slot) const {
  const ChunkSlot& s = slots[slot];
  v5::ChunkInfo c;
  c.block_id = s.block_id;
  c.blob_index = blob_index;
  c.flags = s.flags;
  c.compressed_size = s.compressed_size;
  c.uncompressed_size = s.uncompressed_size;
  c.compressed_offset = s.compressed_offset;
  c.uncompressed_offset = s.uncompressed_offset;
  c.index = indexes[slot];
  return c;
}

namespace {

ChunkSlot slot_from(const v5::ChunkInfo& c) {
  return ChunkSlot{c.block_id,        c.compressed_offset, c.uncompressed_offset,
                   c.compressed_size, c.uncompressed_size, c.flags};
}

// Sorted (index, slot) pairs -> the layout's slot table; false when two
// records of one index disagree.
bool fill_slots(std::vector<std::pair<std::uint32_t, ChunkSlot>>& records, BlobLayout& layout) {
  std::sort(records.begin(), records.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (i > 0 && records[i].first == records[i - 1].first) {
      if (!(records[i].second == records[i - 1].second)) {
        return false;
      }
      continue;
    }
    layout.indexes.push_back(records[i].first);
    layout.slots.push_back(records[i].second);
  }
  return true;
}

// Fills by_offset and data_size; false when two slots overlap in the
// uncompressed address space (or an end overflows).
bool check_extents(BlobLayout& layout) {
  const auto n = static_cast<std::uint32_t>(layout.slots.size());
  std::vector<std::uint32_t> order(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    order[i] = i;
  }
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    return layout.slots[a].uncompressed_offset < layout.slots[b].uncompressed_offset;
  });
  std::uint64_t end = 0;
  for (std::uint32_t s : order) {
    const ChunkSlot& slot = layout.slots[s];
    if (slot.uncompressed_offset < end || slot.uncompressed_offset > UINT64_MAX / 2) {
      return false;
    }
    end = slot.uncompressed_offset + slot.uncompressed_size;
  }
  layout.data_size = end;
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    return layout.slots[a].compressed_offset < layout.slots[b].compressed_offset;
  });
  layout.by_offset = std::move(order);
  return true;
}

// The hash of every field of every slot. The fields are laid out in one
// buffer and hashed in one call (many 8-byte updates were most of a mount's
// start-up time); the bytes hashed are the same as field by field.
Digest fingerprint(const v5::Bootstrap& boot, std::uint32_t blob_index, const BlobLayout& layout) {
  const std::string& id = boot.blobs()[blob_index].id;
  std::vector<std::uint8_t> buf;
  buf.reserve(4 * 8 + id.size() + layout.slots.size() * (6 * 8 + sizeof(Digest)));
  auto put64 = [&](std::uint64_t v) {
    std::array<std::uint8_t, 8> b{};
    store_le<std::uint64_t>(b.data(), v);
    buf.insert(buf.end(), b.begin(), b.end());
  };
  put64(id.size());
  buf.insert(buf.end(), id.begin(), id.end());
  put64(static_cast<std::uint64_t>(boot.digester()));
  put64(static_cast<std::uint64_t>(boot.compressor()));
  put64(layout.slots.size());
  for (std::size_t i = 0; i < layout.slots.size(); ++i) {
    const ChunkSlot& s = layout.slots[i];
    put64(layout.indexes[i]);
    put64(s.compressed_offset);
    put64(s.uncompressed_offset);
    put64(s.compressed_size);
    put64(s.uncompressed_size);
    put64(s.flags);
    buf.insert(buf.end(), s.block_id.begin(), s.block_id.end());
  }
  Blake3 h;
  h.update(buf);
  return h.finalize();
}

} // namespace

std::vector<BlobLayout> build_blob_layouts(const v5::Bootstrap& boot, bool fingerprints) {
  const std::size_t blob_count = boot.blobs().size();
  std::vector<std::vector<std::pair<std::uint32_t, ChunkSlot>>> records(blob_count);
  for (std::uint32_t i = 1; i <= boot.inode_count(); ++i) {
    if (!boot.inode(i).is_reg()) {
      continue;
    }
    const std::uint32_t count = boot.chunk_count(i);
    for (std::uint32_t k = 0; k < count; ++k) {
      v5::ChunkInfo c = boot.chunk(i, k);
      records[c.blob_index].emplace_back(c.index, slot_from(c));
    }
  }
  std::vector<BlobLayout> layouts(blob_count);
  for (std::uint32_t b = 0; b < blob_count; ++b) {
    BlobLayout& layout = layouts[b];
    if (!fill_slots(records[b], layout) || !check_extents(layout)) {
      layout = BlobLayout{};
      layout.consistent = false;
      continue;
    }
    std::vector<std::pair<std::uint32_t, ChunkSlot>>().swap(records[b]);
    if (fingerprints) {
      layout.fingerprint = fingerprint(boot, b, layout);
    }
  }
  return layouts;
}

} // namespace rafs::runtime
