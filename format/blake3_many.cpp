// BLAKE3 of many small inputs side by side (format/digest.hpp, blake3_many).
//
// Blake3 hashes the whole chunks of one input side by side, but an input of
// a few KiB has only a few of them, and the blocks of its last chunk and its
// parent nodes are chains of compressions, one after another. Here every
// input is cut into tasks instead: a task is one chain of compressions that
// ends in one chaining value (a chunk, or a parent node). Each step of a
// kernel (blake3_kernels.hpp, LaneStep) compresses one block of up to 16
// tasks, each in its own lane; a lane whose task ends takes the next one.
// All chunks go first, then the parents one height of the tree at a time
// (a parent's children are done before it starts).
//
// A parent's 64-byte block is its children's two chaining values: the
// children write them straight into it, and the root writes the digest.
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <deque>
#include <vector>

#include "format/blake3_kernels.hpp"
#include "format/digest.hpp"

namespace rafs {

using namespace blake3_detail;

namespace {

// Longer inputs go through Blake3 (their whole chunks side by side).
constexpr std::size_t k_max_chunks = 16;
// A tree of 16 chunks is 4 parents high.
constexpr std::size_t k_max_height = 4;

struct Task {
  const std::uint8_t* data; // the blocks, one after another
  std::size_t len;          // a chunk's bytes (0 to 1024), or 64 for a parent
  std::uint64_t counter;
  std::uint32_t flags;       // on every block
  std::uint32_t flags_first; // on the first block
  std::uint32_t flags_last;  // on the last block
  std::uint8_t* out;         // the 32-byte chaining value (or digest)
};

std::size_t blocks_of(const Task& t) noexcept {
  return t.len == 0 ? 1 : (t.len + k_block_len - 1) / k_block_len;
}

struct Plan {
  std::vector<Task> chunks;
  std::array<std::vector<Task>, k_max_height> parents; // by height - 1
  std::deque<std::array<std::uint8_t, 2 * k_cv_len>> blocks; // parents' blocks: they never move
};

// Plans the subtree of `count` chunks starting at chunk `first`, whose bytes
// are data[0, len); its chaining value goes to `out`. Returns its height.
std::size_t plan(const std::uint8_t* data, std::size_t len, std::uint64_t first, std::size_t count,
                 std::uint8_t* out, bool root, Plan& p) {
  const std::uint32_t root_flag = root ? k_root : 0;
  if (count == 1) {
    p.chunks.push_back({data, len, first, 0, k_chunk_start, k_chunk_end | root_flag, out});
    return 0;
  }
  // The left subtree: the largest power of two of chunks, fewer than all.
  const std::size_t left = std::bit_floor(count - 1);
  std::uint8_t* block = p.blocks.emplace_back().data();
  const std::size_t split = left * k_chunk_len;
  const std::size_t left_height = plan(data, split, first, left, block, false, p);
  const std::size_t right_height =
      plan(data + split, len - split, first + left, count - left, block + k_cv_len, false, p);
  const std::size_t height = 1 + std::max(left_height, right_height);
  p.parents[height - 1].push_back({block, 2 * k_cv_len, 0, k_parent | root_flag, 0, 0, out});
  return height;
}

// Runs the tasks in the lanes of the kernel's steps.
void run(const std::vector<Task>& tasks, StepFn step_fn) noexcept {
  static constexpr std::array<std::uint8_t, k_block_len> k_zero{};
  struct Lane {
    const Task* task = nullptr;
    std::size_t block = 0;  // the next one
    std::size_t blocks = 0; // of the task
  };
  LaneStep step{};
  std::array<Lane, k_step_lanes> lanes{};
  std::array<std::array<std::uint8_t, k_block_len>, k_step_lanes> padded; // short last blocks
  std::size_t next = 0;
  for (;;) {
    std::size_t busy_end = 0;
    for (std::size_t l = 0; l < k_step_lanes; ++l) {
      Lane& lane = lanes[l];
      if (lane.task == nullptr && next < tasks.size()) {
        lane = {&tasks[next++], 0, 0};
        lane.blocks = blocks_of(*lane.task);
        for (std::size_t w = 0; w < 8; ++w) {
          step.cv[w][l] = k_iv[w];
        }
        step.counter_lo[l] = static_cast<std::uint32_t>(lane.task->counter);
        step.counter_hi[l] = static_cast<std::uint32_t>(lane.task->counter >> 32);
      }
      if (lane.task == nullptr) {
        step.block[l] = k_zero.data();
        continue;
      }
      busy_end = l + 1;
      const Task& t = *lane.task;
      const std::size_t at = lane.block * k_block_len;
      const std::size_t n = std::min(k_block_len, t.len - at);
      if (n == k_block_len) {
        step.block[l] = t.data + at;
      } else { // the last block, zero-padded (the empty input's one block is all padding)
        std::fill(padded[l].begin() + static_cast<std::ptrdiff_t>(n), padded[l].end(), 0);
        if (n > 0) {
          std::memcpy(padded[l].data(), t.data + at, n);
        }
        step.block[l] = padded[l].data();
      }
      step.block_len[l] = static_cast<std::uint32_t>(n);
      step.flags[l] = t.flags | (lane.block == 0 ? t.flags_first : 0) |
                      (lane.block + 1 == lane.blocks ? t.flags_last : 0);
    }
    if (busy_end == 0) {
      return;
    }
    step.lanes = busy_end;
    step_fn(step);
    for (std::size_t l = 0; l < busy_end; ++l) {
      Lane& lane = lanes[l];
      if (lane.task != nullptr && ++lane.block == lane.blocks) {
        for (std::size_t w = 0; w < 8; ++w) {
          store_le<std::uint32_t>(lane.task->out + 4 * w, step.cv[w][l]);
        }
        lane.task = nullptr;
      }
    }
  }
}

} // namespace

void blake3_many(std::span<const Bytes> inputs, std::span<Digest> out) {
  Plan p;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Bytes in = inputs[i];
    const std::size_t chunks = std::max<std::size_t>(1, (in.size() + k_chunk_len - 1) / k_chunk_len);
    if (chunks > k_max_chunks) {
      Blake3 h;
      h.update(in);
      out[i] = h.finalize();
      continue;
    }
    plan(in.data(), in.size(), 0, chunks, out[i].data(), true, p);
  }
  const StepFn step_fn = step_function(blake3_active_kernel());
  run(p.chunks, step_fn);
  for (const auto& height : p.parents) {
    run(height, step_fn);
  }
}

} // namespace rafs
