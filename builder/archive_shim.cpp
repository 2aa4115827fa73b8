// libarchive's functions as rafs calls them, each forwarding to the real
// one in libarchive.so.13, which is loaded with dlopen at the first call
// (format/shared_lib.hpp says why: libarchive and the eight libraries it
// brings cost ~1.4 ms at every start of `rafs`, and a mount of a bootstrap
// never reads a tar). The declarations come from <archive.h>, so a
// signature that drifts does not compile; a function rafs starts calling
// must be added here, or the link fails naming it.
//
// libarchive is a declared dependency (ci/deps.sh): when it cannot be
// loaded, the first call prints one line naming the library and the
// package, and exits 127 as the dynamic loader would have at start.
#include <archive.h>
#include <archive_entry.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "format/shared_lib.hpp"

namespace {

void* library() {
  static void* const lib = [] {
    auto opened = rafs::open_shared_lib("libarchive.so.13", "libarchive13");
    if (!opened) {
      std::fprintf(stderr, "rafs: %s\n", opened.error().message.c_str());
      std::_Exit(127);
    }
    return *opened;
  }();
  return lib;
}

template <typename F> F lookup(const char* name) {
  void* sym = rafs::shared_lib_symbol(library(), name);
  if (sym == nullptr) {
    std::fprintf(stderr, "rafs: libarchive.so.13: no symbol %s\n", name);
    std::_Exit(127);
  }
  return reinterpret_cast<F>(sym);
}

} // namespace

// The real function, looked up once (thread-safe), called with `__VA_ARGS__`.
#define RAFS_ARCHIVE_CALL(name, ...)                                                               \
  static const auto real = lookup<decltype(&::name)>(#name);                                       \
  return real(__VA_ARGS__)

extern "C" {

void archive_entry_copy_hardlink(struct archive_entry *a0, const char *a1) {
  RAFS_ARCHIVE_CALL(archive_entry_copy_hardlink, a0, a1);
}
void archive_entry_copy_pathname(struct archive_entry *a0, const char *a1) {
  RAFS_ARCHIVE_CALL(archive_entry_copy_pathname, a0, a1);
}
void archive_entry_copy_symlink(struct archive_entry *a0, const char *a1) {
  RAFS_ARCHIVE_CALL(archive_entry_copy_symlink, a0, a1);
}
__LA_MODE_T archive_entry_filetype(struct archive_entry *a0) {
  RAFS_ARCHIVE_CALL(archive_entry_filetype, a0);
}
void archive_entry_free(struct archive_entry *a0) {
  RAFS_ARCHIVE_CALL(archive_entry_free, a0);
}
la_int64_t archive_entry_gid(struct archive_entry *a0) {
  RAFS_ARCHIVE_CALL(archive_entry_gid, a0);
}
const char * archive_entry_hardlink(struct archive_entry *a0) {
  RAFS_ARCHIVE_CALL(archive_entry_hardlink, a0);
}
__LA_MODE_T archive_entry_mode(struct archive_entry *a0) {
  RAFS_ARCHIVE_CALL(archive_entry_mode, a0);
}
time_t archive_entry_mtime(struct archive_entry *a0) {
  RAFS_ARCHIVE_CALL(archive_entry_mtime, a0);
}
long archive_entry_mtime_nsec(struct archive_entry *a0) {
  RAFS_ARCHIVE_CALL(archive_entry_mtime_nsec, a0);
}
struct archive_entry * archive_entry_new() {
  RAFS_ARCHIVE_CALL(archive_entry_new);
}
const char * archive_entry_pathname(struct archive_entry *a0) {
  RAFS_ARCHIVE_CALL(archive_entry_pathname, a0);
}
const char * archive_entry_pathname_utf8(struct archive_entry *a0) {
  RAFS_ARCHIVE_CALL(archive_entry_pathname_utf8, a0);
}
dev_t archive_entry_rdevmajor(struct archive_entry *a0) {
  RAFS_ARCHIVE_CALL(archive_entry_rdevmajor, a0);
}
dev_t archive_entry_rdevminor(struct archive_entry *a0) {
  RAFS_ARCHIVE_CALL(archive_entry_rdevminor, a0);
}
void archive_entry_set_filetype(struct archive_entry *a0, unsigned int a1) {
  RAFS_ARCHIVE_CALL(archive_entry_set_filetype, a0, a1);
}
void archive_entry_set_gid(struct archive_entry *a0, la_int64_t a1) {
  RAFS_ARCHIVE_CALL(archive_entry_set_gid, a0, a1);
}
void archive_entry_set_mode(struct archive_entry *a0, __LA_MODE_T a1) {
  RAFS_ARCHIVE_CALL(archive_entry_set_mode, a0, a1);
}
void archive_entry_set_mtime(struct archive_entry *a0, time_t a1, long a2) {
  RAFS_ARCHIVE_CALL(archive_entry_set_mtime, a0, a1, a2);
}
void archive_entry_set_pathname(struct archive_entry *a0, const char *a1) {
  RAFS_ARCHIVE_CALL(archive_entry_set_pathname, a0, a1);
}
void archive_entry_set_perm(struct archive_entry *a0, __LA_MODE_T a1) {
  RAFS_ARCHIVE_CALL(archive_entry_set_perm, a0, a1);
}
void archive_entry_set_rdevmajor(struct archive_entry *a0, dev_t a1) {
  RAFS_ARCHIVE_CALL(archive_entry_set_rdevmajor, a0, a1);
}
void archive_entry_set_rdevminor(struct archive_entry *a0, dev_t a1) {
  RAFS_ARCHIVE_CALL(archive_entry_set_rdevminor, a0, a1);
}
void archive_entry_set_size(struct archive_entry *a0, la_int64_t a1) {
  RAFS_ARCHIVE_CALL(archive_entry_set_size, a0, a1);
}
void archive_entry_set_uid(struct archive_entry *a0, la_int64_t a1) {
  RAFS_ARCHIVE_CALL(archive_entry_set_uid, a0, a1);
}
la_int64_t archive_entry_size(struct archive_entry *a0) {
  RAFS_ARCHIVE_CALL(archive_entry_size, a0);
}
void archive_entry_sparse_add_entry(struct archive_entry *a0, la_int64_t a1, la_int64_t a2) {
  RAFS_ARCHIVE_CALL(archive_entry_sparse_add_entry, a0, a1, a2);
}
int archive_entry_sparse_count(struct archive_entry *a0) {
  RAFS_ARCHIVE_CALL(archive_entry_sparse_count, a0);
}
const char * archive_entry_symlink(struct archive_entry *a0) {
  RAFS_ARCHIVE_CALL(archive_entry_symlink, a0);
}
const char * archive_entry_symlink_utf8(struct archive_entry *a0) {
  RAFS_ARCHIVE_CALL(archive_entry_symlink_utf8, a0);
}
la_int64_t archive_entry_uid(struct archive_entry *a0) {
  RAFS_ARCHIVE_CALL(archive_entry_uid, a0);
}
void archive_entry_xattr_add_entry(struct archive_entry *a0, const char *a1, const void *a2, size_t a3) {
  RAFS_ARCHIVE_CALL(archive_entry_xattr_add_entry, a0, a1, a2, a3);
}
int archive_entry_xattr_next(struct archive_entry *a0, const char **a1, const void **a2, size_t *a3) {
  RAFS_ARCHIVE_CALL(archive_entry_xattr_next, a0, a1, a2, a3);
}
int archive_entry_xattr_reset(struct archive_entry *a0) {
  RAFS_ARCHIVE_CALL(archive_entry_xattr_reset, a0);
}
int archive_errno(struct archive *a0) {
  RAFS_ARCHIVE_CALL(archive_errno, a0);
}
const char * archive_error_string(struct archive *a0) {
  RAFS_ARCHIVE_CALL(archive_error_string, a0);
}
la_int64_t archive_filter_bytes(struct archive *a0, int a1) {
  RAFS_ARCHIVE_CALL(archive_filter_bytes, a0, a1);
}
int archive_filter_count(struct archive *a0) {
  RAFS_ARCHIVE_CALL(archive_filter_count, a0);
}
la_ssize_t archive_read_data(struct archive *a0, void *a1, size_t a2) {
  RAFS_ARCHIVE_CALL(archive_read_data, a0, a1, a2);
}
int archive_read_data_block(struct archive *a0, const void **a1, size_t *a2, la_int64_t *a3) {
  RAFS_ARCHIVE_CALL(archive_read_data_block, a0, a1, a2, a3);
}
int archive_read_data_skip(struct archive *a0) {
  RAFS_ARCHIVE_CALL(archive_read_data_skip, a0);
}
int archive_read_free(struct archive *a0) {
  RAFS_ARCHIVE_CALL(archive_read_free, a0);
}
struct archive * archive_read_new() {
  RAFS_ARCHIVE_CALL(archive_read_new);
}
int archive_read_next_header(struct archive *a0, struct archive_entry **a1) {
  RAFS_ARCHIVE_CALL(archive_read_next_header, a0, a1);
}
int archive_read_open(struct archive *a0, void *a1, archive_open_callback *a2, archive_read_callback *a3, archive_close_callback *a4) {
  RAFS_ARCHIVE_CALL(archive_read_open, a0, a1, a2, a3, a4);
}
int archive_read_open_filename(struct archive *a0, const char *a1, size_t a2) {
  RAFS_ARCHIVE_CALL(archive_read_open_filename, a0, a1, a2);
}
int archive_read_open_memory(struct archive *a0, const void *a1, size_t a2) {
  RAFS_ARCHIVE_CALL(archive_read_open_memory, a0, a1, a2);
}
int archive_read_set_format_option(struct archive *a0, const char *a1, const char *a2, const char *a3) {
  RAFS_ARCHIVE_CALL(archive_read_set_format_option, a0, a1, a2, a3);
}
int archive_read_support_filter_all(struct archive *a0) {
  RAFS_ARCHIVE_CALL(archive_read_support_filter_all, a0);
}
int archive_read_support_filter_gzip(struct archive *a0) {
  RAFS_ARCHIVE_CALL(archive_read_support_filter_gzip, a0);
}
int archive_read_support_filter_zstd(struct archive *a0) {
  RAFS_ARCHIVE_CALL(archive_read_support_filter_zstd, a0);
}
int archive_read_support_format_empty(struct archive *a0) {
  RAFS_ARCHIVE_CALL(archive_read_support_format_empty, a0);
}
int archive_read_support_format_gnutar(struct archive *a0) {
  RAFS_ARCHIVE_CALL(archive_read_support_format_gnutar, a0);
}
int archive_read_support_format_tar(struct archive *a0) {
  RAFS_ARCHIVE_CALL(archive_read_support_format_tar, a0);
}
int archive_write_close(struct archive *a0) {
  RAFS_ARCHIVE_CALL(archive_write_close, a0);
}
la_ssize_t archive_write_data(struct archive *a0, const void *a1, size_t a2) {
  RAFS_ARCHIVE_CALL(archive_write_data, a0, a1, a2);
}
int archive_write_free(struct archive *a0) {
  RAFS_ARCHIVE_CALL(archive_write_free, a0);
}
int archive_write_header(struct archive *a0, struct archive_entry *a1) {
  RAFS_ARCHIVE_CALL(archive_write_header, a0, a1);
}
struct archive * archive_write_new() {
  RAFS_ARCHIVE_CALL(archive_write_new);
}
int archive_write_open_fd(struct archive *a0, int a1) {
  RAFS_ARCHIVE_CALL(archive_write_open_fd, a0, a1);
}
int archive_write_set_bytes_in_last_block(struct archive *a0, int a1) {
  RAFS_ARCHIVE_CALL(archive_write_set_bytes_in_last_block, a0, a1);
}
int archive_write_set_format_option(struct archive *a0, const char *a1, const char *a2, const char *a3) {
  RAFS_ARCHIVE_CALL(archive_write_set_format_option, a0, a1, a2, a3);
}
int archive_write_set_format_pax(struct archive *a0) {
  RAFS_ARCHIVE_CALL(archive_write_set_format_pax, a0);
}
int archive_write_set_format_pax_restricted(struct archive *a0) {
  RAFS_ARCHIVE_CALL(archive_write_set_format_pax_restricted, a0);
}

// Variadic: formatted here, handed on as one "%s" argument.
void archive_set_error(struct archive* a0, int a1, const char* fmt, ...) {
  char message[1024];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(message, sizeof message, fmt, args);
  va_end(args);
  static const auto real = lookup<decltype(&::archive_set_error)>("archive_set_error");
  real(a0, a1, "%s", message);
}

} // extern "C"
