#include "support/fixture_result.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <vector>

#include "support/run.hpp"
#include "support/tar_maker.hpp"
#include "support/temp_dir.hpp"

namespace rafs::test {

namespace {

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// tree 2.x counts the top directory in its report; tree 1.x did not.
bool tree_counts_root() {
  static const bool counts = sh("tree --version").out.rfind("tree v1.", 0) != 0;
  return counts;
}

// `tree -J` as JSON with empty "contents" arrays dropped (tree 1.x, which
// wrote the .result files, prints them for empty directories and symlinks;
// Debian 12's tree 2.1 omits them) and, for output of today's tree, the root
// not counted in the report.
nlohmann::json normalized_tree(const std::string& text, bool from_tree_now) {
  nlohmann::json j = nlohmann::json::parse(text);
  std::vector<nlohmann::json*> todo{&j};
  while (!todo.empty()) {
    nlohmann::json* node = todo.back();
    todo.pop_back();
    if (node->is_array()) {
      for (auto& child : *node) {
        todo.push_back(&child);
      }
    } else if (node->is_object() && node->value("type", "") == "report" && from_tree_now &&
               tree_counts_root()) {
      (*node)["directories"] = (*node)["directories"].get<int>() - 1;
    } else if (node->is_object() && node->contains("contents")) {
      if ((*node)["contents"].empty()) {
        node->erase("contents");
      } else {
        todo.push_back(&(*node)["contents"]);
      }
    }
  }
  return j;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

} // namespace

ResultComparison compare_with_result(const std::filesystem::path& root,
                                     const std::filesystem::path& result_file) {
  const std::string text = read_text(result_file);
  const auto end_of_tree = text.find("\n]\n");
  if (end_of_tree == std::string::npos) {
    throw std::runtime_error(result_file.string() + ": no tree block");
  }
  const RunResult tree = sh("tree -a -J -v " + shell_quote(root.string()));
  const RunResult md5 = sh("cd " + shell_quote(root.string()) +
                           " && find . -type f -exec md5sum {} + | sed 's|  \\./|  /|' | LC_ALL=C sort");
  if (tree.exit_code != 0 || md5.exit_code != 0) {
    throw std::runtime_error("tree or md5sum failed over " + root.string() + ": " + tree.err + md5.err);
  }
  ResultComparison c;
  c.got_tree = normalized_tree(
      replace_all(tree.out, "\"name\":\"" + root.string() + "\"", "\"name\":\"\""), true);
  c.want_tree = normalized_tree(text.substr(0, end_of_tree + 2), false);
  c.got_md5 = trim(md5.out);
  c.want_md5 = trim(text.substr(end_of_tree + 3));
  return c;
}

} // namespace rafs::test
