#include "format/xattr.hpp"

#include "format/layout.hpp"

namespace rafs::v5 {

bool xattr_name_allowed(std::string_view name) noexcept {
  for (std::string_view prefix : {"user.", "security.", "trusted."}) {
    if (name.size() > prefix.size() && name.substr(0, prefix.size()) == prefix) {
      return true;
    }
  }
  return name == "system.posix_acl_access" || name == "system.posix_acl_default";
}

std::uint64_t xattr_total(const std::vector<Xattr>& xattrs) noexcept {
  std::uint64_t total = 0;
  for (const Xattr& x : xattrs) {
    total += 4 + x.name.size() + 1 + x.value.size();
  }
  return total;
}

std::vector<std::uint8_t> encode_xattrs(const std::vector<Xattr>& xattrs) {
  const std::uint64_t total = xattr_total(xattrs);
  std::vector<std::uint8_t> out(8, 0);
  store_le<std::uint64_t>(out.data(), total);
  for (const Xattr& x : xattrs) {
    std::uint8_t head[4];
    store_le<std::uint32_t>(head, static_cast<std::uint32_t>(x.name.size() + 1 + x.value.size()));
    out.insert(out.end(), head, head + 4);
    out.insert(out.end(), x.name.begin(), x.name.end());
    out.push_back(0);
    out.insert(out.end(), x.value.begin(), x.value.end());
  }
  out.resize(8 + align8(total), 0);
  return out;
}

Result<std::uint64_t> xattr_block_size(Bytes available) {
  if (available.size() < 8) {
    return make_error(Errc::corrupted, "xattr block header runs past the end of the file");
  }
  std::uint64_t total = load_le<std::uint64_t>(available.data());
  if (total > available.size() - 8 || align8(total) > available.size() - 8) {
    return make_error(Errc::corrupted, "xattr block of " + std::to_string(total) +
                                           " bytes runs past the end of the file");
  }
  return 8 + align8(total);
}

Result<std::vector<Xattr>> decode_xattrs(Bytes block) {
  RAFS_TRY_ASSIGN(std::uint64_t size, xattr_block_size(block));
  std::uint64_t total = load_le<std::uint64_t>(block.data());
  Bytes pairs = block.subspan(8, total);
  std::vector<Xattr> out;
  std::size_t pos = 0;
  while (pos < pairs.size()) {
    if (pairs.size() - pos < 4) {
      return make_error(Errc::corrupted, "xattr pair header truncated");
    }
    std::uint32_t pair_size = load_le<std::uint32_t>(pairs.data() + pos);
    pos += 4;
    if (pair_size > pairs.size() - pos) {
      return make_error(Errc::corrupted, "xattr pair of " + std::to_string(pair_size) +
                                             " bytes overruns the block");
    }
    std::string_view pair(reinterpret_cast<const char*>(pairs.data() + pos), pair_size);
    std::size_t nul = pair.find('\0');
    if (nul == std::string_view::npos || nul == 0 || nul > k_max_xattr_name) {
      return make_error(Errc::corrupted, "xattr pair has no valid name");
    }
    Xattr x{std::string(pair.substr(0, nul)), std::string(pair.substr(nul + 1))};
    if (!xattr_name_allowed(x.name)) {
      return make_error(Errc::corrupted, "xattr name '" + x.name + "' has no allowed prefix");
    }
    if (x.value.size() > k_max_xattr_value) {
      return make_error(Errc::corrupted, "xattr '" + x.name + "' value over 64 KiB");
    }
    out.push_back(std::move(x));
    pos += pair_size;
  }
  for (std::size_t i = 8 + total; i < size; ++i) {
    if (block[i] != 0) {
      return make_error(Errc::corrupted, "xattr block padding is not zero");
    }
  }
  return out;
}

} // namespace rafs::v5
