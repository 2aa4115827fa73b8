// The mount's config JSON (nydusd's v1 rafs config) and a prefetch list
// (`--prefetch-policy` on stdin, `rafs mount --prefetch-files`) from
// untrusted bytes. The same bytes are read as both: seeds of either kind
// then serve both parsers.
//
// Checked: the limits parse_config promises, and that the list holds only
// normalized paths, each its own first covering position; its paths are
// looked up in a small image as the mount does.
#include <cstdint>
#include <string>
#include <vector>

#include "builder/prefetch_list.hpp"
#include "builder/source_entry.hpp"
#include "format/bootstrap.hpp"
#include "fuzz/fuzz_support.hpp"
#include "runtime/config.hpp"
#include "support/tiny_image.hpp"

namespace {

using namespace rafs;

const v5::Bootstrap& tiny_bootstrap() {
  static const v5::Bootstrap b = [] {
    auto opened = v5::Bootstrap::from_bytes(test::make_tiny_image().encode(), "tiny");
    if (!opened) {
      fuzz::fail("the tiny image does not open: " + opened.error().message);
    }
    return std::move(*opened);
  }();
  return b;
}

void check_config(std::string_view text) {
  auto c = runtime::parse_config(text, "fuzz.json");
  if (!c) {
    if (c.error().message.rfind("fuzz.json: ", 0) != 0) {
      fuzz::fail("a config error does not name the file: " + c.error().message);
    }
    return;
  }
  const runtime::PrefetchConfig& p = c->prefetch;
  if (p.enable && (p.threads_count < 1 || p.threads_count > 1024)) {
    fuzz::fail("fs_prefetch.threads_count " + std::to_string(p.threads_count) + " accepted");
  }
  if (c->mode != "direct" && c->mode != "cached") {
    fuzz::fail("mode " + c->mode + " accepted");
  }
}

void check_prefetch_list(std::string_view text) {
  std::vector<std::string> warnings;
  const auto list = builder::PrefetchList::parse(text, warnings);
  const v5::Bootstrap& b = tiny_bootstrap();
  for (std::size_t k = 0; k < list.paths().size(); ++k) {
    const std::string& p = list.paths()[k];
    auto normal = builder::normalize_entry_path(p);
    if (!normal || *normal != p) {
      fuzz::fail("prefetch list path '" + p + "' is not normalized");
    }
    if (list.position_of(p) != k) {
      fuzz::fail("prefetch list path '" + p + "' is not at its own position");
    }
    if (auto index = b.lookup(p); index) {
      (void)b.ino_index(*index);
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(Bytes(data, size));
  check_config(text);
  check_prefetch_list(text);
  return 0;
}
