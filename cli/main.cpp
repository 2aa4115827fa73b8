#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <map>
#include <string>

#include "cli/commands.hpp"

namespace rafs::cli {

int report(const Error& error) {
  std::fprintf(stderr, "rafs: %s\n", error.message.c_str());
  return k_exit_bad_input;
}

} // namespace rafs::cli

int main(int argc, char** argv) {
  using namespace rafs::cli;
  // A write past RLIMIT_FSIZE then fails with EFBIG, reported like any
  // other write error, instead of killing rafs with its outputs half made.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"rafs: build, inspect and mount Nydus RAFS v5 images", "rafs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "rafs 0.1.0");
  std::map<CLI::App*, Action> actions;
  // Only the subcommand named first gets its options built (all of them
  // when none is: `rafs --help`, a typo): building every subcommand's
  // options is a measurable part of a mount's start.
  const std::string first = argc > 1 ? argv[1] : "";
  const bool named = !first.empty() && first.front() != '-';
  auto add = [&](const char* name, const char* help, Action (*setup)(CLI::App&)) {
    CLI::App* sub = app.add_subcommand(name, help);
    if (!named || first == name) {
      actions[sub] = setup(*sub);
    }
  };
  add("create", "Build a RAFS v5 blob and bootstrap from one tar layer or a directory", setup_create);
  add("convert", "Convert a whole OCI image (layout, oci-archive, docker-archive) to a Nydus image",
      setup_convert);
  add("merge", "Overlay per-layer bootstraps (lowest first) into one image bootstrap", setup_merge);
  add("dump", "Print a bootstrap: superblock, blobs, prefetch table and tree", setup_dump);
  add("check", "Validate a bootstrap (and, with -D, every chunk of its blobs)", setup_check);
  add("unpack", "Write the image's filesystem as a PAX tar", setup_unpack);
  add("mount", "Mount an image read-only over FUSE (lazy fetch, local cache, prefetch)", setup_mount);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return k_exit_usage;
  }
  try {
    for (CLI::App* sub : app.get_subcommands()) {
      return actions.at(sub)();
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rafs: internal error: %s\n", e.what());
    return k_exit_bad_input;
  }
  return k_exit_usage;
}
